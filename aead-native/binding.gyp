{
  "targets": [
    {
      "target_name": "aead",
      "sources": ["src/aead.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
