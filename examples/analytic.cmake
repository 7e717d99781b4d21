# The flagship demo (`make demo`): class-incremental Split Fashion-MNIST with an analytic head.
add_executable(continua_demo ${CMAKE_CURRENT_SOURCE_DIR}/continua_demo.cpp)
target_link_libraries(continua_demo PRIVATE continua::continua continua_warnings)

# Closed-form ridge on all ten classes at once (the earlier demo).
add_executable(fashion_mnist_ridge ${CMAKE_CURRENT_SOURCE_DIR}/fashion_mnist_ridge.cpp)
target_link_libraries(fashion_mnist_ridge PRIVATE continua::continua continua_warnings)
