# Diffusion samplers on a 2-D Gaussian mixture with its exact noise prediction (issue 12):
# sample quality against steps (SVG) and a BDIA inversion round trip.
add_executable(diffusion_mixture_2d diffusion_mixture_2d.cpp)
target_link_libraries(diffusion_mixture_2d PRIVATE continua::continua continua_warnings)
# The example as a check: its exit status is the BDIA round trip (<= 1e-10); about 3 s.
if(CONTINUA_BUILD_TESTS)
  add_test(NAME diffusion_mixture_2d_check
           COMMAND diffusion_mixture_2d ${CMAKE_CURRENT_BINARY_DIR}/diffusion_mixture_2d.svg)
  set_tests_properties(diffusion_mixture_2d_check PROPERTIES LABELS "sample;examples")
endif()
