# GPM projection cost per layer against Eigen GEMM peak (same binary); included by
# bench/regularize/CMakeLists.txt.
add_executable(bench_gpm ${CMAKE_CURRENT_LIST_DIR}/bench_gpm.cpp)
target_link_libraries(bench_gpm PRIVATE continua::continua continua_warnings benchmark::benchmark)
