# Diffusion samplers on a 2-D Gaussian mixture with its exact noise prediction (issue 12):
# sample quality against steps (SVG) and a BDIA inversion round trip.
add_executable(diffusion_mixture_2d diffusion_mixture_2d.cpp)
target_include_directories(diffusion_mixture_2d PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(diffusion_mixture_2d PRIVATE continua::continua continua_warnings)
# The example as a check: its exit status is the BDIA round trip (<= 1e-10); about 3 s.
if(CONTINUA_BUILD_TESTS)
  add_test(NAME diffusion_mixture_2d_check
           COMMAND diffusion_mixture_2d ${CMAKE_CURRENT_BINARY_DIR}/diffusion_mixture_2d.svg)
  set_tests_properties(diffusion_mixture_2d_check PROPERTIES LABELS "sample;examples")
endif()

# An MLP noise predictor trained with continua::optim on a ring of 8 Gaussians, sampled by every
# sampler with and without time shift (docs/diffusion.md). Its exit status: every trained sampler
# beats the untrained network by 3x in sliced W2.
add_executable(diffusion_mlp_2d diffusion_mlp_2d.cpp)
target_include_directories(diffusion_mlp_2d PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(diffusion_mlp_2d PRIVATE continua::continua continua_warnings)
# The example as a check, at a reduced size (500 iterations, 500 samples, 10 and 20 steps; ~2 s):
# trained beats untrained by 3x, and is within 2.5x of the exact noise prediction at 20 steps.
if(CONTINUA_BUILD_TESTS)
  add_test(NAME diffusion_mlp_2d_check
           COMMAND diffusion_mlp_2d ${CMAKE_CURRENT_BINARY_DIR}/diffusion_mlp_2d.svg --iterations 500
                   --samples 500 --max-steps 20)
  set_tests_properties(diffusion_mlp_2d_check PROPERTIES LABELS "sample;examples")
endif()
