{
  "targets": [
    {
      "target_name": "netconsole",
      "sources": ["native/addon.cc", "native/sender.cc", "native/drain.cc", "native/drain-pass.cc", "native/drain-hold.cc", "native/drain-loss.cc", "native/txring.cc", "native/retain.cc", "native/path.cc", "native/sockets.cc", "native/futex.cc", "native/netlink.cc", "native/netlink-dump.cc", "native/signals.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [["OS!='linux'", {"sources!": ["native/addon.cc", "native/sender.cc", "native/drain.cc", "native/drain-pass.cc", "native/drain-hold.cc", "native/drain-loss.cc", "native/txring.cc", "native/retain.cc", "native/path.cc", "native/sockets.cc", "native/futex.cc", "native/netlink.cc", "native/netlink-dump.cc", "native/signals.cc"]}]]
    }
  ]
}
