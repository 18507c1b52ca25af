#include "storage/key_ring.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/base/internal/raw_logging.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/digest.h"
#include "common/file_sync.h"
#include "common/keyed_contexts.h"
#include "storage/key_encoding.h"

namespace safeguarding::storage {
namespace {

constexpr size_t kKeyIdBytes = 4;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
// version | key id | nonce: authenticated as associated data ahead of the caller's.
constexpr size_t kHeaderBytes = 1 + kKeyIdBytes + kNonceBytes;
static_assert(KeyRing::kSealedOverhead == kHeaderBytes + kTagBytes);
// O_NONBLOCK: a path that names a FIFO must fail the regular-file check, not hang in open().
constexpr int kReadFlags = O_RDONLY | O_NONBLOCK | O_CLOEXEC;

// Wipes a string holding key material or unauthenticated plaintext when it goes out of scope.
class Wiper {
 public:
  explicit Wiper(std::string* s) : s_(s) {}
  ~Wiper() { OPENSSL_cleanse(s_->data(), s_->size()); }
  Wiper(const Wiper&) = delete;
  Wiper& operator=(const Wiper&) = delete;

 private:
  std::string* s_;
};

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  // Closes now, reporting the error close() can return after writes.
  bool Close() {
    int fd = std::exchange(fd_, -1);
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

// AES-256-GCM, fetched once (EVP_aes_256_gcm() in an init call fetches it every time).
const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

// This thread's AES-256-GCM context keyed with `key` for sealing (`encrypt`) or opening, or
// nullptr if OpenSSL fails. The caller sets the nonce (EVP_CipherInit_ex with only an IV
// starts a new message under the same key schedule), and drops the context on any failure.
using GcmContexts = common::KeyedContexts<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
GcmContexts& ContextsFor(bool encrypt) {
  thread_local GcmContexts sealing;
  thread_local GcmContexts opening;
  return encrypt ? sealing : opening;
}
EVP_CIPHER_CTX* GcmContext(const std::array<unsigned char, KeyRing::kKeyBytes>& key, bool encrypt) {
  const absl::string_view bytes(reinterpret_cast<const char*>(key.data()), key.size());
  GcmContexts& contexts = ContextsFor(encrypt);
  if (EVP_CIPHER_CTX* ctx = contexts.Find(bytes)) return ctx;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr || Aes256Gcm() == nullptr ||
      EVP_CipherInit_ex(ctx, Aes256Gcm(), nullptr, key.data(), nullptr, encrypt ? 1 : 0) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    return nullptr;
  }
  contexts.Keep(bytes, ctx);
  return ctx;
}

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// `err` is an errno value, read by the caller before anything else can change it.
[[nodiscard]] absl::Status FileError(int err, const std::string& path, absl::string_view what) {
  return absl::ErrnoToStatus(err, absl::StrCat("key file ", path, ": ", what));
}

uint32_t KeyIdOf(const unsigned char* key) {
  // SHA-256 is always available in OpenSSL 3 (default and FIPS providers alike); a failure
  // stops the process (common::Sha256).
  const std::string digest =
      common::Sha256(absl::string_view(reinterpret_cast<const char*>(key), KeyRing::kKeyBytes));
  absl::string_view prefix(digest.data(), kKeyIdBytes);
  return *GetFixed32BE(&prefix);
}

[[nodiscard]] absl::StatusOr<std::string> NewRandomKey() {
  std::string key(KeyRing::kKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    ERR_clear_error();
    return absl::InternalError("RAND_bytes failed: cannot generate a key");
  }
  return key;
}

// A fresh random GCM nonce into `nonce` (kNonceBytes). Each call of RAND_bytes costs
// about 6,600 instructions whatever its length (callgrind), so each thread draws 80 nonces
// at a time and hands them out once each, in order; the bytes are OpenSSL's DRBG output
// as before, never handed out twice, and the rest of a draw is wiped when the thread ends.
constexpr size_t kPooledNonces = 80;
struct NoncePool {
  unsigned char bytes[kPooledNonces * kNonceBytes];
  size_t next = sizeof(bytes);  // empty: draw on first use
  ~NoncePool() { OPENSSL_cleanse(bytes, sizeof(bytes)); }
};

[[nodiscard]] bool NextNonce(unsigned char* nonce) {
  thread_local NoncePool pool;
  if (pool.next == sizeof(pool.bytes)) {
    if (RAND_bytes(pool.bytes, static_cast<int>(sizeof(pool.bytes))) != 1) return false;
    pool.next = 0;
  }
  std::memcpy(nonce, pool.bytes + pool.next, kNonceBytes);
  OPENSSL_cleanse(pool.bytes + pool.next, kNonceBytes);
  pool.next += kNonceBytes;
  return true;
}

// Feeds `in` to EVP_{En,De}cryptUpdate in int-sized pieces. `out` is nullptr for associated
// data, else room for in.size() bytes (GCM is a stream mode: output length = input length).
using UpdateFn = int (*)(EVP_CIPHER_CTX*, unsigned char*, int*, const unsigned char*, int);
bool CipherUpdate(UpdateFn update, EVP_CIPHER_CTX* ctx, absl::string_view in, unsigned char* out) {
  constexpr size_t kMaxPiece = size_t{1} << 30;
  while (!in.empty()) {
    const size_t n = std::min(in.size(), kMaxPiece);
    int written = 0;
    if (update(ctx, out, &written, Bytes(in), static_cast<int>(n)) != 1) return false;
    if (out != nullptr) {
      if (static_cast<size_t>(written) != n) return false;
      out += n;
    }
    in.remove_prefix(n);
  }
  return true;
}

[[nodiscard]] absl::Status KeyFileOpenError(int err, const std::string& path) {
  if (err == ENOENT) return absl::NotFoundError(absl::StrCat("key file ", path, " does not exist"));
  return FileError(err, path, "cannot open");
}

// Opens `path` and takes an exclusive flock on it, retrying if the file was replaced
// (renamed over by another rotation) while we waited, so the lock is on the current file.
[[nodiscard]] absl::StatusOr<int> OpenLocked(const std::string& path) {
  for (;;) {
    Fd fd(::open(path.c_str(), kReadFlags));
    if (fd.get() < 0) return KeyFileOpenError(errno, path);
    int rc;
    do {
      rc = ::flock(fd.get(), LOCK_EX);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return FileError(errno, path, "cannot lock");
    struct stat locked, current;
    if (::fstat(fd.get(), &locked) != 0) return FileError(errno, path, "cannot stat");
    if (::stat(path.c_str(), &current) != 0) {
      if (errno == ENOENT) continue;  // removed meanwhile: the next open says so
      return FileError(errno, path, "cannot stat");
    }
    if (locked.st_dev == current.st_dev && locked.st_ino == current.st_ino) return fd.release();
  }
}

// Reads and checks a whole key file from `fd`: a regular file, mode without group/other
// bits, a positive multiple of kKeyBytes long. The mode is checked before any key is read.
[[nodiscard]] absl::Status ReadKeyFile(int fd, const std::string& path, std::string* contents) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return FileError(errno, path, "cannot stat");
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("key file ", path, " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "key file %s has mode %04o: it must be mode 0600 (no access for group or others); "
        "run chmod 600 %s",
        path, st.st_mode & 07777, path));
  }
  const auto size = static_cast<size_t>(st.st_size);
  if (st.st_size <= 0 || size % KeyRing::kKeyBytes != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("key file ", path, " is ", st.st_size,
                     " bytes; it must hold one or more 32-byte AES-256 keys (a positive "
                     "multiple of 32 bytes)"));
  }
  // Read in place, never growing the buffer, so no stray copy of a key is left unwiped.
  contents->assign(size, '\0');
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, contents->data() + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FileError(errno, path, "cannot read");
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  char extra;
  ssize_t more;
  do {
    more = ::pread(fd, &extra, 1, static_cast<off_t>(size));
  } while (more < 0 && errno == EINTR);
  if (done != size || more != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("key file ", path, " changed size while being read; try again"));
  }
  return absl::OkStatus();
}

// Splits validated file contents into keys, oldest first.
std::vector<std::string> SplitKeys(const std::string& contents) {
  std::vector<std::string> keys;
  keys.reserve(contents.size() / KeyRing::kKeyBytes);
  for (size_t i = 0; i < contents.size(); i += KeyRing::kKeyBytes) {
    keys.push_back(contents.substr(i, KeyRing::kKeyBytes));
  }
  return keys;
}

[[nodiscard]] absl::Status WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, "write");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// Writes `data` to a file already opened at `fd`, forces mode 0600 (whatever the umask or
// a stale file had), fsyncs and closes it.
[[nodiscard]] absl::Status WriteKeyFile(Fd& fd, const std::string& tmp_path,
                                        absl::string_view data) {
  if (::fchmod(fd.get(), 0600) != 0) return FileError(errno, tmp_path, "cannot chmod 0600");
  if (absl::Status s = WriteAll(fd.get(), data); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("key file ", tmp_path, ": ", s.message()));
  }
  if (::fsync(fd.get()) != 0) return FileError(errno, tmp_path, "cannot fsync");
  if (!fd.Close()) return FileError(errno, tmp_path, "cannot close");
  return absl::OkStatus();
}

}  // namespace

struct KeyRing::Keys {
  struct Entry {
    uint32_t id;
    std::array<unsigned char, kKeyBytes> bytes;
  };

  ~Keys() {
    for (Entry& e : entries) OPENSSL_cleanse(e.bytes.data(), e.bytes.size());
  }

  const Entry* Find(uint32_t id) const {
    for (const Entry& e : entries) {
      if (e.id == id) return &e;
    }
    return nullptr;
  }

  std::vector<Entry> entries;  // oldest first; the last is current
};

absl::StatusOr<KeyRing> KeyRing::Build(std::vector<std::string> keys, absl::StatusCode error_code,
                                       absl::string_view source) {
  struct WipeAll {
    std::vector<std::string>& keys;
    ~WipeAll() {
      for (std::string& k : keys) OPENSSL_cleanse(k.data(), k.size());
    }
  } wipe_all{keys};

  if (keys.empty()) return absl::Status(error_code, absl::StrCat(source, " holds no key"));
  auto ring = std::make_shared<Keys>();
  ring->entries.reserve(keys.size());  // never reallocated, so no unwiped copy is left
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].size() != kKeyBytes) {
      return absl::Status(error_code, absl::StrCat(source, ": key ", i, " is ", keys[i].size(),
                                                   " bytes; AES-256 keys are 32 bytes"));
    }
    Keys::Entry& entry = ring->entries.emplace_back();
    std::memcpy(entry.bytes.data(), keys[i].data(), kKeyBytes);
    entry.id = KeyIdOf(entry.bytes.data());
    for (size_t j = 0; j + 1 < ring->entries.size(); ++j) {
      const Keys::Entry& other = ring->entries[j];
      if (other.id != entry.id) continue;
      const bool same = CRYPTO_memcmp(other.bytes.data(), entry.bytes.data(), kKeyBytes) == 0;
      return absl::Status(
          error_code,
          absl::StrCat(source, same ? " holds key " : " holds two different keys with id ",
                       KeyIdHex(entry.id), same ? " twice" : "; replace one of them"));
    }
  }
  return KeyRing(std::move(ring));
}

absl::StatusOr<KeyRing> KeyRing::LoadFile(const std::string& path) {
  Fd fd(::open(path.c_str(), kReadFlags));
  if (fd.get() < 0) return KeyFileOpenError(errno, path);
  std::string contents;
  Wiper wipe(&contents);
  if (absl::Status s = ReadKeyFile(fd.get(), path, &contents); !s.ok()) return s;
  return Build(SplitKeys(contents), absl::StatusCode::kFailedPrecondition,
               absl::StrCat("key file ", path));
}

absl::StatusOr<KeyRing> KeyRing::FromKeys(std::vector<std::string> keys) {
  return Build(std::move(keys), absl::StatusCode::kInvalidArgument, "key list");
}

namespace {

std::string HmacOfLabel(const unsigned char* key, absl::string_view label) {
  return common::HmacSha256(
      absl::string_view(reinterpret_cast<const char*>(key), KeyRing::kKeyBytes), label);
}

}  // namespace

std::string KeyRing::DeriveKey(absl::string_view label) const {
  return HmacOfLabel(keys_->entries.front().bytes.data(), label);
}

std::optional<std::string> KeyRing::DeriveKeyFrom(uint32_t id, absl::string_view label) const {
  const Keys::Entry* key = keys_->Find(id);
  if (key == nullptr) return std::nullopt;
  return HmacOfLabel(key->bytes.data(), label);
}

uint32_t KeyRing::oldest_key_id() const { return keys_->entries.front().id; }

uint32_t KeyRing::current_key_id() const { return keys_->entries.back().id; }

bool KeyRing::HasKey(uint32_t id) const { return keys_->Find(id) != nullptr; }

std::vector<uint32_t> KeyRing::key_ids() const {
  std::vector<uint32_t> ids;
  ids.reserve(keys_->entries.size());
  for (const Keys::Entry& e : keys_->entries) ids.push_back(e.id);
  return ids;
}

absl::StatusOr<std::string> KeyRing::Seal(absl::string_view plaintext,
                                          absl::string_view associated_data) const {
  const Keys::Entry& key = keys_->entries.back();
  std::string sealed;
  sealed.reserve(kSealedOverhead + plaintext.size());
  sealed.push_back(static_cast<char>(kSealedVersion));
  PutFixed32BE(&sealed, key.id);
  sealed.resize(kHeaderBytes + plaintext.size() + kTagBytes);
  auto* out = reinterpret_cast<unsigned char*>(sealed.data());
  unsigned char* nonce = out + 1 + kKeyIdBytes;
  unsigned char* ciphertext = out + kHeaderBytes;
  unsigned char* tag = ciphertext + plaintext.size();

  if (!NextNonce(nonce)) {
    ERR_clear_error();
    return absl::InternalError("RAND_bytes failed: cannot make a nonce");
  }
  EVP_CIPHER_CTX* ctx = GcmContext(key.bytes, /*encrypt=*/true);
  int final_len = 0;
  if (ctx == nullptr || EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) != 1 ||
      !CipherUpdate(EVP_EncryptUpdate, ctx, absl::string_view(sealed.data(), kHeaderBytes),
                    nullptr) ||
      !CipherUpdate(EVP_EncryptUpdate, ctx, associated_data, nullptr) ||
      !CipherUpdate(EVP_EncryptUpdate, ctx, plaintext, ciphertext) ||
      EVP_EncryptFinal_ex(ctx, tag, &final_len) != 1 || final_len != 0 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes), tag) != 1) {
    if (ctx != nullptr) ContextsFor(/*encrypt=*/true).Drop(ctx);
    ERR_clear_error();
    return absl::InternalError("AES-256-GCM encryption failed");
  }
  return sealed;
}

absl::StatusOr<std::string> KeyRing::Open(absl::string_view sealed,
                                          absl::string_view associated_data) const {
  if (sealed.size() < kSealedOverhead) {
    return absl::DataLossError(absl::StrCat("sealed data is ", sealed.size(),
                                            " bytes, shorter than the ", kSealedOverhead,
                                            "-byte minimum"));
  }
  if (static_cast<uint8_t>(sealed[0]) != kSealedVersion) {
    return absl::DataLossError(absl::StrCat("sealed data has unknown format version ",
                                            static_cast<int>(static_cast<uint8_t>(sealed[0]))));
  }
  const uint32_t key_id = *SealedKeyId(sealed);
  const Keys::Entry* key = keys_->Find(key_id);
  if (key == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("key ", KeyIdHex(key_id), " is not in the key file"));
  }
  const absl::string_view header = sealed.substr(0, kHeaderBytes);
  const absl::string_view ciphertext =
      sealed.substr(kHeaderBytes, sealed.size() - kHeaderBytes - kTagBytes);
  std::array<unsigned char, kTagBytes> tag;
  std::memcpy(tag.data(), sealed.data() + sealed.size() - kTagBytes, kTagBytes);

  // Decrypted bytes are unauthenticated until EVP_DecryptFinal_ex checks the tag: on any
  // failure they are wiped, never returned.
  std::string plaintext(ciphertext.size(), '\0');
  EVP_CIPHER_CTX* ctx = GcmContext(key->bytes, /*encrypt=*/false);
  if (ctx == nullptr ||
      EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, Bytes(header.substr(1 + kKeyIdBytes))) !=
          1 ||
      !CipherUpdate(EVP_DecryptUpdate, ctx, header, nullptr) ||
      !CipherUpdate(EVP_DecryptUpdate, ctx, associated_data, nullptr) ||
      !CipherUpdate(EVP_DecryptUpdate, ctx, ciphertext,
                    reinterpret_cast<unsigned char*>(plaintext.data())) ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag.data()) !=
          1) {
    if (ctx != nullptr) ContextsFor(/*encrypt=*/false).Drop(ctx);
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    ERR_clear_error();
    return absl::InternalError("AES-256-GCM decryption failed");
  }
  int final_len = 0;
  unsigned char unused[1];
  if (EVP_DecryptFinal_ex(ctx, unused, &final_len) != 1) {
    ContextsFor(/*encrypt=*/false).Drop(ctx);  // a fresh context for the next record
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    ERR_clear_error();
    return absl::DataLossError(
        absl::StrCat("sealed data under key ", KeyIdHex(key_id),
                     " failed authentication: it was altered, or belongs to another record"));
  }
  return plaintext;
}

std::optional<uint32_t> KeyRing::SealedKeyId(absl::string_view sealed) {
  if (sealed.size() < kSealedOverhead || static_cast<uint8_t>(sealed[0]) != kSealedVersion) {
    return std::nullopt;
  }
  sealed.remove_prefix(1);
  return GetFixed32BE(&sealed);
}

absl::Status CreateKeyFileIfMissing(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) return absl::OkStatus();
  if (errno != ENOENT) return FileError(errno, path, "cannot check whether it exists");

  absl::StatusOr<std::string> key = NewRandomKey();
  if (!key.ok()) return key.status();
  Wiper wipe(&*key);

  // Written aside and linked into place: link() never replaces an existing file, so a
  // concurrent creator wins cleanly, and `path` never exists half-written.
  std::string tmp_path = path + ".tmp.XXXXXX";
  Fd fd(::mkostemp(tmp_path.data(), O_CLOEXEC));
  if (fd.get() < 0) return FileError(errno, path, "cannot create a temporary file beside it");
  absl::Status s = WriteKeyFile(fd, tmp_path, *key);
  if (s.ok() && ::link(tmp_path.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    const int err = errno;
    s = FileError(err, path, absl::StrCat("cannot link ", tmp_path, " into place"));
  }
  ::unlink(tmp_path.c_str());
  if (!s.ok()) return s;
  return common::SyncParentDirectory(path);
}

absl::StatusOr<KeyRing> AppendNewKey(const std::string& path) {
  absl::StatusOr<int> locked = OpenLocked(path);
  if (!locked.ok()) return locked.status();
  Fd lock(*locked);  // held until the new file is in place

  std::string contents;
  Wiper wipe(&contents);
  if (absl::Status s = ReadKeyFile(lock.get(), path, &contents); !s.ok()) return s;
  const std::string source = absl::StrCat("key file ", path);
  // A file LoadFile refuses (e.g. one key twice) is not extended.
  absl::StatusOr<KeyRing> old_ring =
      KeyRing::Build(SplitKeys(contents), absl::StatusCode::kFailedPrecondition, source);
  if (!old_ring.ok()) return old_ring.status();

  // Sized up front so appending the new key cannot leave an unwiped copy behind.
  std::string new_contents;
  Wiper wipe_new(&new_contents);
  new_contents.reserve(contents.size() + KeyRing::kKeyBytes);
  new_contents.append(contents);
  // A new key whose id collides with an old one (chance 2^-32 per key) is drawn again.
  for (int attempt = 0; new_contents.size() == contents.size(); ++attempt) {
    if (attempt == 16) return absl::InternalError("cannot draw a key with a fresh key id");
    absl::StatusOr<std::string> key = NewRandomKey();
    if (!key.ok()) return key.status();
    Wiper wipe_key(&*key);
    if (!old_ring->HasKey(KeyIdOf(Bytes(*key)))) new_contents.append(*key);
  }
  absl::StatusOr<KeyRing> ring =
      KeyRing::Build(SplitKeys(new_contents), absl::StatusCode::kFailedPrecondition, source);
  if (!ring.ok()) return ring.status();

  const std::string tmp_path = path + ".tmp";
  // Holding the lock, any file there is debris of a crashed rotation.
  if (::unlink(tmp_path.c_str()) != 0 && errno != ENOENT) {
    return FileError(errno, tmp_path, "cannot remove a stale copy");
  }
  Fd fd(::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) return FileError(errno, tmp_path, "cannot create");
  if (absl::Status s = WriteKeyFile(fd, tmp_path, new_contents); !s.ok()) {
    ::unlink(tmp_path.c_str());
    return s;
  }
  if (::rename(tmp_path.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_path.c_str());
    return FileError(err, path, absl::StrCat("cannot rename ", tmp_path, " over it"));
  }
  if (absl::Status s = common::SyncParentDirectory(path); !s.ok()) return s;
  return ring;
}

std::string KeyIdHex(uint32_t id) { return absl::StrFormat("%08x", id); }

}  // namespace safeguarding::storage
