# node-gyp build of the addon (prebuildify drives this one). Sources come from native/sources.json,
# the list CMakeLists.txt reads too; both builds produce build/Release/diffai.node.
{
  "targets": [
    {
      "target_name": "diffai",
      "sources": [
        "<!@(node -p \"const s=require('./native/sources.json');[...s.core,...s.simd,...s.addon].join(' ')\")"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags": ["-O3", "-fvisibility=hidden"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "11.0",
            "OTHER_CPLUSPLUSFLAGS": ["-O3", "-fvisibility=hidden"]
          }
        }]
      ]
    }
  ]
}
