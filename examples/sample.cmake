# Sample-family examples: Bayesian logistic regression on two Fashion-MNIST classes by MCMC.
add_executable(bayesian_logistic bayesian_logistic.cpp)
target_include_directories(bayesian_logistic PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(bayesian_logistic PRIVATE continua::continua continua_warnings)
