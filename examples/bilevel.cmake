# bilevel family (issue 13): per-sample reweighting against label noise on Fashion-MNIST by the
# implicit hypergradient, and few-shot sinusoid regression with MAML, FOMAML, Reptile and iMAML
# (docs/bilevel_examples.md).
add_executable(bilevel_reweighting bilevel_reweighting.cpp)
target_include_directories(bilevel_reweighting PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(bilevel_reweighting PRIVATE continua::continua continua_warnings)
add_executable(bilevel_sinusoid bilevel_sinusoid.cpp)
target_link_libraries(bilevel_sinusoid PRIVATE continua::continua continua_warnings)
# Ridge penalties (shared and per feature) by the exact implicit hypergradient on Fashion-MNIST
# random features, against a grid search (docs/bilevel_examples.md).
add_executable(bilevel_ridge bilevel_ridge.cpp)
target_include_directories(bilevel_ridge PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(bilevel_ridge PRIVATE continua::continua continua_warnings)
