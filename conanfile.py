# Conan 2 recipe for continua, a header-only C++20 library: one package for every configuration.
# Optional parts follow the CMake options CONTINUA_WITH_*; see docs/getting-started.md.
import os
import re

from conan import ConanFile
from conan.tools.build import check_min_cppstd
from conan.tools.files import copy, load, save
from conan.tools.layout import basic_layout

required_conan_version = ">=2.0"

# Optional dependency -> (CMake lines that make its target, target, define). The lines run from a
# CMakeDeps build module, so they work both when Conan provides the dependency and when a profile
# maps it to the system with [platform_requires] (then CMakeDeps generates nothing for it).
_CMAKE_PARTS = {
    "with_eigen": ("if(NOT TARGET Eigen3::Eigen)\n"
                   "  find_package(Eigen3 3.4 REQUIRED NO_MODULE)\n"
                   "endif()",
                   "Eigen3::Eigen", "CONTINUA_WITH_EIGEN=1"),
    "with_xtensor": ("if(NOT TARGET xtensor)\n  find_package(xtensor REQUIRED)\nendif()",
                     "xtensor", "CONTINUA_WITH_XTENSOR=1"),
    "with_zlib": ("if(NOT TARGET ZLIB::ZLIB)\n  find_package(ZLIB REQUIRED)\nendif()",
                  "ZLIB::ZLIB", "CONTINUA_WITH_ZLIB=1"),
    "with_openmp": ("find_package(OpenMP REQUIRED COMPONENTS CXX)", "OpenMP::OpenMP_CXX", None),
    "with_mpi": ("find_package(MPI REQUIRED COMPONENTS CXX)", "MPI::MPI_CXX",
                 "CONTINUA_WITH_MPI=1"),
    # The system BLAS and LAPACK (OpenBLAS preferred, as in the CMake build) for the host linear
    # algebra; off by default since Conan provides no BLAS here (Debian: libopenblas-dev).
    "with_blas": ("if(NOT DEFINED BLA_VENDOR)\n"
                  "  set(BLA_VENDOR OpenBLAS)\n"
                  "  find_package(BLAS QUIET)\n"
                  "  if(NOT BLAS_FOUND)\n    unset(BLA_VENDOR)\n  endif()\n"
                  "endif()\n"
                  "find_package(BLAS REQUIRED)\nfind_package(LAPACK REQUIRED)",
                  "LAPACK::LAPACK BLAS::BLAS", "CONTINUA_WITH_BLAS=1"),
    # As in the CMake build: CUDA only switches the define; the toolkit must exist.
    "with_cuda": ("find_package(CUDAToolkit REQUIRED)", None, "CONTINUA_WITH_CUDA=1"),
}


class ContinuaConan(ConanFile):
    name = "continua"
    description = ("Header-only C++20 algorithms for continual, meta- and energy-based learning: "
                   "optimizers, regularizers, samplers, bilevel solvers, analytic learners")
    topics = ("continual-learning", "meta-learning", "optimization", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    options = {name: [True, False] for name in _CMAKE_PARTS}
    default_options = {
        "with_eigen": True,
        "with_xtensor": True,
        "with_zlib": True,
        "with_openmp": True,
        "with_mpi": False,
        "with_cuda": False,
        "with_blas": False,
    }
    # The whole CMake project, so the exported source still configures with plain CMake.
    exports_sources = "include/*", "CMakeLists.txt", "cmake/*"
    no_copy_source = True

    def set_version(self):
        # One source of truth: project(continua VERSION x.y.z) in CMakeLists.txt.
        if self.version:
            return
        path = os.path.join(self.recipe_folder, "CMakeLists.txt")
        match = None
        if os.path.exists(path):
            match = re.search(r"project\(\s*continua\s+VERSION\s+([0-9]+(?:\.[0-9]+)*)",
                              load(self, path))
        self.version = match.group(1) if match else "0.1.0"

    def layout(self):
        basic_layout(self, src_folder=".")

    def requirements(self):
        # transitive_headers: continua's adapters include these headers in the consumer's code.
        if self.options.with_eigen:
            self.requires("eigen/3.4.0", transitive_headers=True)
        if self.options.with_xtensor:
            self.requires("xtensor/0.24.3", transitive_headers=True)
        if self.options.with_zlib:
            self.requires("zlib/[>=1.2.11 <2]", transitive_headers=True)

    def validate(self):
        check_min_cppstd(self, 20)

    def package_id(self):
        self.info.clear()

    def build(self):
        pass

    def package(self):
        copy(self, "*.hpp", os.path.join(self.source_folder, "include"),
             os.path.join(self.package_folder, "include"))
        for license_file in ("LICENSE", "LICENSE.md", "LICENSE.txt"):
            copy(self, license_file, self.source_folder,
                 os.path.join(self.package_folder, "licenses"))
        # Every build module goes into the one package; package_info picks by the options.
        for option, (find, target, _) in _CMAKE_PARTS.items():
            link = (f"target_link_libraries(continua::continua INTERFACE {target})\n"
                    if target else "")
            save(self, os.path.join(self.package_folder, self._module_path(option)),
                 f"# continua: dependency of the {option} option.\n"
                 "include_guard(GLOBAL)\n"
                 f"{find}\n{link}")

    @staticmethod
    def _module_path(option):
        file_name = f"continua-{option.replace('_', '-')}.cmake"
        return os.path.join("lib", "cmake", "continua", file_name)

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "continua")
        self.cpp_info.set_property("cmake_target_name", "continua::continua")
        self.cpp_info.set_property("pkg_config_name", "continua")
        # Without it GCC keeps errno semantics for sqrt and cannot vectorise the optimizer loops.
        if str(self.settings.get_safe("compiler", "")) in ("gcc", "clang", "apple-clang"):
            self.cpp_info.cxxflags.append("-fno-math-errno")
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        modules = []
        for option, (_, _, define) in _CMAKE_PARTS.items():
            if self.options.get_safe(option):
                modules.append(self._module_path(option))
                if define:
                    self.cpp_info.defines.append(define)
        self.cpp_info.set_property("cmake_build_modules", modules)
