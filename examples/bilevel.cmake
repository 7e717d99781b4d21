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
# The example as a check on the real data, small (256 features, 3000 training images; about 6 s,
# most of it reading the data): the hypergradient against central differences (<= 1e-5) and the
# tuned shared penalty against the grid on validation (`--check` sets the exit status).
if(CONTINUA_BUILD_TESTS)
  add_test(NAME bilevel_ridge_check
           COMMAND bilevel_ridge --features 256 --train 3000 --validation 1000 --outer-steps 100
                   --check)
  # One thread: Eigen's OpenMP threads on the small products cost 4x on a loaded machine.
  set_tests_properties(bilevel_ridge_check PROPERTIES LABELS "bilevel;data"
                       ENVIRONMENT "OMP_NUM_THREADS=1;OMP_WAIT_POLICY=PASSIVE")
endif()
