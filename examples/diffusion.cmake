# Diffusion samplers on a 2-D Gaussian mixture with its exact noise prediction (issue 12):
# sample quality against steps (SVG) and a BDIA inversion round trip.
add_executable(diffusion_mixture_2d diffusion_mixture_2d.cpp)
target_link_libraries(diffusion_mixture_2d PRIVATE continua::continua continua_warnings)
