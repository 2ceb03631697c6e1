{
  "targets": [
    {
      "target_name": "aiofs",
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["OS=='linux'", {
          "sources": ["native/addon.c", "native/uring.c", "native/aio.c", "native/direct.c", "native/memory.c", "native/uapi_check.c", "native/waiter.c", "native/args.c", "native/owned_fds.c", "native/registered.c", "native/splice.c"],
          "cflags": ["-Wall", "-Wextra", "-O2", "-std=gnu11"],
          "cflags!": ["-fno-exceptions"]
        }, {
          "sources": ["native/unsupported.c", "native/memory.c"]
        }]
      ]
    }
  ]
}
