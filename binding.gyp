{
  "targets": [
    {
      "target_name": "virtnode",
      "sources": [
        "native/addon.cc",
        "native/errno_error.cc",
        "native/host.cc",
        "native/netlink.cc",
        "native/qmp.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "VIRTNODE_ADDON_VERSION=<!(node -p \"JSON.stringify(require('./package.json').version)\")"
      ],
      "cflags_cc": ["-std=c++17", "-fvisibility=hidden", "-fvisibility-inlines-hidden", "-Wall", "-Wextra"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"]
    }
  ]
}
