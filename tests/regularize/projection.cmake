# Projection methods (GPM, A-GEM, refresh); included by tests/regularize/CMakeLists.txt.
continua_add_test_all_backends(test_regularize_projection
                               SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_projection.cpp
                               LABELS regularize)
