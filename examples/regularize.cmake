# Split Fashion-MNIST with the regularize family (issue 5): fine-tuning, EWC, online EWC, SI, MAS,
# GPM, replay and A-GEM on a small MLP, reported with continua::metrics.
add_executable(split_fashion_mnist_regularizers split_fashion_mnist_regularizers.cpp)
target_include_directories(split_fashion_mnist_regularizers PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(split_fashion_mnist_regularizers PRIVATE continua::continua continua_warnings)
