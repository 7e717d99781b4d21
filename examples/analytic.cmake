# The flagship demo (`make demo`): class-incremental Split Fashion-MNIST with an analytic head.
add_executable(continua_demo ${CMAKE_CURRENT_SOURCE_DIR}/continua_demo.cpp)
target_link_libraries(continua_demo PRIVATE continua::continua continua_warnings)

# Closed-form ridge on all ten classes at once (the earlier demo).
add_executable(fashion_mnist_ridge ${CMAKE_CURRENT_SOURCE_DIR}/fashion_mnist_ridge.cpp)
target_link_libraries(fashion_mnist_ridge PRIVATE continua::continua continua_warnings)

# The demo's claim as a test on the real data: a small buffer (512 features), double precision,
# incremental must equal joint training (`--check` sets the exit status).
if(CONTINUA_BUILD_TESTS)
  add_test(NAME continua_demo_check
           COMMAND continua_demo --features 512 --precision double --no-baselines --check
                   --out ${CMAKE_CURRENT_BINARY_DIR}/continua_demo_check_out)
  set_tests_properties(continua_demo_check PROPERTIES LABELS "analytic;data")
endif()
