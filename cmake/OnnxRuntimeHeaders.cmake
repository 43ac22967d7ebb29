# Finds ONNX Runtime's C/C++ API headers (C API version 23 or later) and exposes them as the
# interface target fa_onnx_ort_headers. Order: ONNXRUNTIME_INCLUDE_DIR (cache or environment),
# the system, then the project-local copy that scripts/build-native.mjs unpacks from Debian's
# libonnxruntime-dev package into .deps/debian.
set(ONNXRUNTIME_INCLUDE_DIR "$ENV{ONNXRUNTIME_INCLUDE_DIR}" CACHE PATH "Folder holding onnxruntime_c_api.h")

find_path(FA_ONNX_ORT_INCLUDE onnxruntime_c_api.h
  HINTS "${ONNXRUNTIME_INCLUDE_DIR}"
  PATHS /usr/include/onnxruntime /usr/local/include/onnxruntime
        "${CMAKE_CURRENT_LIST_DIR}/../.deps/debian/usr/include/onnxruntime"
  NO_DEFAULT_PATH)

if(NOT FA_ONNX_ORT_INCLUDE)
  message(FATAL_ERROR
    "ONNX Runtime headers not found. Set ONNXRUNTIME_INCLUDE_DIR to the folder holding "
    "onnxruntime_c_api.h, or run `node scripts/build-native.mjs`, which fetches Debian's "
    "libonnxruntime-dev into .deps/debian.")
endif()

file(STRINGS "${FA_ONNX_ORT_INCLUDE}/onnxruntime_c_api.h" _ort_api_line REGEX "^#define ORT_API_VERSION [0-9]+")
string(REGEX MATCH "[0-9]+" FA_ONNX_ORT_API_VERSION "${_ort_api_line}")
if(FA_ONNX_ORT_API_VERSION LESS 23)
  message(FATAL_ERROR "ONNX Runtime headers in ${FA_ONNX_ORT_INCLUDE} are API version "
    "${FA_ONNX_ORT_API_VERSION}; fa-onnx needs 23 or later.")
endif()
message(STATUS "ONNX Runtime headers: ${FA_ONNX_ORT_INCLUDE} (C API version ${FA_ONNX_ORT_API_VERSION})")

add_library(fa_onnx_ort_headers INTERFACE)
target_include_directories(fa_onnx_ort_headers INTERFACE "${FA_ONNX_ORT_INCLUDE}")
# Build against API 23 so the library loads in every ONNX Runtime from 1.23 on (the C API is append-only).
target_compile_definitions(fa_onnx_ort_headers INTERFACE ORT_API_MANUAL_INIT)
