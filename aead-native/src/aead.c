// AES-256-GCM with a key schedule kept per key, for the envelope's hot path.
//
// Why native: node:crypto builds a fresh OpenSSL 3 cipher context (an algorithm fetch and
// a key expansion) for every createCipheriv, about 6-8 µs per seal or open, several times
// the cost of the cipher itself on a few hundred bytes. Here a key gets two contexts once
// (one to seal, one to open); each operation only sets its nonce, so it costs well under
// a microsecond. OpenSSL is Node's own (the addon links against the symbols node exports),
// so the cipher is the same AES-NI implementation node:crypto uses, and the frames are
// byte-identical (core/src/aead.test.ts compares the two).
//
// Every entry point checks its arguments and throws a TypeError/RangeError: JavaScript
// mistakes must never become memory errors.
#include <limits.h>
#include <node_api.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

#define NONCE_BYTES 12
#define TAG_BYTES 16
#define KEY_BYTES 32

typedef struct {
  EVP_CIPHER_CTX* seal;
  EVP_CIPHER_CTX* open;
} Schedule;

static void release_schedule(Schedule* s) {
  // EVP_CIPHER_CTX_free cleanses the provider context, and with it the expanded key.
  if (s->seal) EVP_CIPHER_CTX_free(s->seal);
  if (s->open) EVP_CIPHER_CTX_free(s->open);
  s->seal = NULL;
  s->open = NULL;
}

static void finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  Schedule* s = (Schedule*)data;
  release_schedule(s);
  free(s);
}

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, "ERR_AEAD_NAPI", "aead: N-API call failed"); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

// A Uint8Array argument (Buffers are Uint8Arrays); `optional` accepts undefined/null as empty.
static int get_bytes(napi_env env, napi_value v, const char* name, int optional, unsigned char** data,
                     size_t* length) {
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok) return 0;
  if (optional && (type == napi_undefined || type == napi_null)) {
    *data = NULL;
    *length = 0;
    return 1;
  }
  bool is_typed = false;
  napi_typedarray_type ta_type;
  void* raw = NULL;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, v, &ta_type, length, &raw, NULL, NULL) != napi_ok ||
      ta_type != napi_uint8_array) {
    char message[96];
    snprintf(message, sizeof message, "aead: %s must be a Uint8Array", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return 0;
  }
  if (*length > INT_MAX) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "aead: input larger than 2 GiB");
    return 0;
  }
  *data = (unsigned char*)raw;
  return 1;
}

// The Schedule behind a value schedule() returned, released or not.
static Schedule* get_external(napi_env env, napi_value v) {
  Schedule* s = NULL;
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_external ||
      napi_get_value_external(env, v, (void**)&s) != napi_ok || s == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "aead: not a key schedule");
    return NULL;
  }
  return s;
}

static Schedule* get_schedule(napi_env env, napi_value v) {
  Schedule* s = get_external(env, v);
  if (s == NULL) return NULL;
  if (s->seal == NULL || s->open == NULL) {
    napi_throw_error(env, "ERR_AEAD_RELEASED", "aead: key schedule released (key destroyed)");
    return NULL;
  }
  return s;
}

// seal and open both take six arguments, the first a live schedule: fills `a`, returns the schedule.
static Schedule* get_call(napi_env env, napi_callback_info info, const char* usage, napi_value a[6]) {
  size_t argc = 6;
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok) {
    napi_throw_error(env, "ERR_AEAD_NAPI", "aead: N-API call failed");
    return NULL;
  }
  if (argc < 6) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", usage);
    return NULL;
  }
  return get_schedule(env, a[0]);
}

// schedule(key: Uint8Array(32)) -> external
static napi_value schedule(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  unsigned char* key;
  size_t key_length;
  if (argc < 1 || !get_bytes(env, argv[0], "key", 0, &key, &key_length)) return NULL;
  if (key_length != KEY_BYTES) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "aead: an AES-256 key is 32 bytes");
    return NULL;
  }
  Schedule* s = calloc(1, sizeof(Schedule));
  if (s == NULL) {
    napi_throw_error(env, "ERR_AEAD_MEMORY", "aead: out of memory");
    return NULL;
  }
  s->seal = EVP_CIPHER_CTX_new();
  s->open = EVP_CIPHER_CTX_new();
  if (s->seal == NULL || s->open == NULL ||
      EVP_EncryptInit_ex(s->seal, EVP_aes_256_gcm(), NULL, key, NULL) != 1 ||
      EVP_DecryptInit_ex(s->open, EVP_aes_256_gcm(), NULL, key, NULL) != 1) {
    finalize(env, s, NULL);
    napi_throw_error(env, "ERR_AEAD_OPENSSL", "aead: OpenSSL refused the key");
    return NULL;
  }
  napi_value external;
  if (napi_create_external(env, s, finalize, NULL, &external) != napi_ok) {
    finalize(env, s, NULL);
    napi_throw_error(env, "ERR_AEAD_NAPI", "aead: N-API call failed");
    return NULL;
  }
  return external;
}

// release(schedule): frees the expanded key now rather than at garbage collection.
static napi_value release(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  // A missing argument arrives as undefined, which get_external refuses.
  Schedule* s = get_external(env, argv[0]);
  if (s == NULL) return NULL;
  release_schedule(s);
  return NULL;
}

// seal(schedule, nonce(12), aad?, plaintext, target, offset) -> bytes written (ciphertext | tag)
static napi_value seal(napi_env env, napi_callback_info info) {
  napi_value a[6];
  Schedule* s = get_call(env, info, "aead: seal takes 6 arguments", a);
  if (s == NULL) return NULL;
  unsigned char *nonce, *aad, *plaintext, *target;
  size_t nonce_length, aad_length, plaintext_length, target_length;
  uint32_t offset;
  if (!get_bytes(env, a[1], "nonce", 0, &nonce, &nonce_length) ||
      !get_bytes(env, a[2], "aad", 1, &aad, &aad_length) ||
      !get_bytes(env, a[3], "plaintext", 0, &plaintext, &plaintext_length) ||
      !get_bytes(env, a[4], "target", 0, &target, &target_length))
    return NULL;
  if (napi_get_value_uint32(env, a[5], &offset) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "aead: offset must be a number");
    return NULL;
  }
  if (nonce_length != NONCE_BYTES) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "aead: the nonce is 12 bytes");
    return NULL;
  }
  if ((size_t)offset > target_length || target_length - offset < plaintext_length + TAG_BYTES) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "aead: target too small for ciphertext and tag");
    return NULL;
  }
  unsigned char* out = target + offset;
  int n = 0, tail = 0;
  if (EVP_EncryptInit_ex(s->seal, NULL, NULL, NULL, nonce) != 1 ||
      (aad_length > 0 && EVP_EncryptUpdate(s->seal, NULL, &n, aad, (int)aad_length) != 1) ||
      EVP_EncryptUpdate(s->seal, out, &n, plaintext, (int)plaintext_length) != 1 ||
      EVP_EncryptFinal_ex(s->seal, out + n, &tail) != 1 ||
      EVP_CIPHER_CTX_ctrl(s->seal, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, out + plaintext_length) != 1) {
    OPENSSL_cleanse(out, plaintext_length);
    napi_throw_error(env, "ERR_AEAD_OPENSSL", "aead: seal failed");
    return NULL;
  }
  napi_value written;
  CHECK(napi_create_uint32(env, (uint32_t)(plaintext_length + TAG_BYTES), &written));
  return written;
}

// open(schedule, nonce(12), aad?, ciphertext, tag(16), target) -> true, or false when the
// tag does not verify (target then holds zeros, never unauthenticated plaintext)
static napi_value open_(napi_env env, napi_callback_info info) {
  napi_value a[6];
  Schedule* s = get_call(env, info, "aead: open takes 6 arguments", a);
  if (s == NULL) return NULL;
  unsigned char *nonce, *aad, *ciphertext, *tag, *target;
  size_t nonce_length, aad_length, ciphertext_length, tag_length, target_length;
  if (!get_bytes(env, a[1], "nonce", 0, &nonce, &nonce_length) ||
      !get_bytes(env, a[2], "aad", 1, &aad, &aad_length) ||
      !get_bytes(env, a[3], "ciphertext", 0, &ciphertext, &ciphertext_length) ||
      !get_bytes(env, a[4], "tag", 0, &tag, &tag_length) ||
      !get_bytes(env, a[5], "target", 0, &target, &target_length))
    return NULL;
  if (nonce_length != NONCE_BYTES || tag_length != TAG_BYTES) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "aead: the nonce is 12 bytes and the tag 16");
    return NULL;
  }
  if (target_length < ciphertext_length) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "aead: target smaller than the ciphertext");
    return NULL;
  }
  int n = 0, tail = 0;
  int ok = EVP_DecryptInit_ex(s->open, NULL, NULL, NULL, nonce) == 1 &&
           (aad_length == 0 || EVP_DecryptUpdate(s->open, NULL, &n, aad, (int)aad_length) == 1) &&
           EVP_DecryptUpdate(s->open, target, &n, ciphertext, (int)ciphertext_length) == 1 &&
           EVP_CIPHER_CTX_ctrl(s->open, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, tag) == 1 &&
           EVP_DecryptFinal_ex(s->open, target + n, &tail) == 1;
  if (!ok) OPENSSL_cleanse(target, ciphertext_length);
  napi_value result;
  CHECK(napi_get_boolean(env, ok, &result));
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
      {"schedule", NULL, schedule, NULL, NULL, NULL, napi_enumerable, NULL},
      {"release", NULL, release, NULL, NULL, NULL, napi_enumerable, NULL},
      {"seal", NULL, seal, NULL, NULL, NULL, napi_enumerable, NULL},
      {"open", NULL, open_, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties) != napi_ok)
    return NULL;
  return exports;
}
