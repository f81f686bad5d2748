#include "ragd/retrieval/snapshot.hpp"

#include "ragd/redis/tenant_keys.hpp"

#include <zlib.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <optional>

namespace ragd::retrieval {
namespace {

static_assert(std::endian::native == std::endian::little,
              "snapshot files are little-endian; add byte swapping for this platform");

constexpr char kMagic[8] = {'R', 'A', 'G', 'D', 'S', 'N', 'A', 'P'};
constexpr char kEndMagic[8] = {'P', 'A', 'N', 'S', 'D', 'G', 'A', 'R'};
// Bounds a corrupt length field before it turns into a giant allocation.
constexpr std::uint32_t kMaxStringBytes = 256u << 20;
constexpr std::uint32_t kMaxDim = 1u << 16;
constexpr std::uint32_t kFlagReplication = 1u;  // header flags: a replication position follows
constexpr std::uint32_t kFlagDocuments = 2u;    // header flags: the documents section follows
constexpr std::uint32_t kFlagAnalyzer = 4u;     // header flags: the analyser's identity follows
constexpr std::uint32_t kKnownFlags = kFlagReplication | kFlagDocuments | kFlagAnalyzer;
constexpr std::uint32_t kKnownFlags2 = kFlagReplication | kFlagAnalyzer;  // format 2 always has documents

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  template <class T>
  void put(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out_.append(b, sizeof(T));
  }
  void put_string(std::string_view s) {
    put(static_cast<std::uint32_t>(s.size()));
    out_.append(s.data(), s.size());
  }
  void put_bytes(const void* p, std::size_t n) { out_.append(static_cast<const char*>(p), n); }

 private:
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <class T>
  bool get(T& v) {
    if (in_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(&v, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool get_string(std::string& s) {
    std::uint32_t n = 0;
    if (!get(n) || n > kMaxStringBytes || in_.size() - pos_ < n) return false;
    s.assign(in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool get_bytes(void* p, std::size_t n) {
    if (in_.size() - pos_ < n) return false;
    std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  std::size_t remaining() const { return in_.size() - pos_; }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

std::uint32_t crc32_of(std::string_view bytes) {
  uLong crc = crc32_z(0L, Z_NULL, 0);
  crc = crc32_z(crc, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size());
  return static_cast<std::uint32_t>(crc);
}

Error corrupt(const std::string& what) { return make_error(Errc::internal, "snapshot is corrupt: " + what); }

Error io_error(const std::string& what, const std::string& path) {
  return make_error(Errc::internal, what + " '" + path + "': " + std::strerror(errno));
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

std::size_t SnapshotData::chunk_count() const {
  std::size_t n = 0;
  for (const TenantSnapshot& t : tenants) n += t.chunks.size();
  return n;
}

std::size_t SnapshotData::document_count() const {
  std::size_t n = 0;
  for (const TenantSnapshot& t : tenants) n += t.documents.size();
  return n;
}

namespace {

void put_document(Writer& w, const StoredDocument& d) {
  w.put_string(d.id);
  w.put_string(d.title);
  w.put_string(d.metadata);
  w.put_string(d.text);
}

void put_chunks(Writer& w, const TenantSnapshot& t, std::uint32_t dim) {
  for (std::size_t i = 0; i < t.chunks.size(); ++i) {
    const Chunk& c = t.chunks[i];
    w.put(c.id);
    w.put(static_cast<std::int32_t>(c.position));
    w.put(static_cast<std::uint64_t>(c.offset));
    w.put_string(c.doc_id);
    w.put_string(c.chunk_id);
    w.put_string(c.title);
    w.put_string(c.text);
    w.put_bytes(t.vectors.data() + i * dim, dim * sizeof(float));
  }
}

// `count` document records into t.documents.
std::optional<Error> get_documents(Reader& r, std::uint64_t count, TenantSnapshot& t) {
  // Each record takes at least its four length fields.
  if (count > r.remaining() / 16) return corrupt("document count exceeds the file");
  t.documents.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    StoredDocument& doc = t.documents[i];
    if (!r.get_string(doc.id) || !r.get_string(doc.title) || !r.get_string(doc.metadata) || !r.get_string(doc.text)) {
      return corrupt("truncated document record " + std::to_string(i));
    }
  }
  return std::nullopt;
}

// `count` chunk records of `dim` floats into t.chunks and t.vectors.
std::optional<Error> get_chunks(Reader& r, std::uint64_t count, std::uint32_t dim, TenantSnapshot& t) {
  // Each record takes at least its fixed fields and its vector.
  const std::size_t min_record = 8 + 4 + 8 + 4 * 4 + std::size_t{dim} * sizeof(float);
  if (count > r.remaining() / min_record) return corrupt("chunk count exceeds the file");
  t.chunks.resize(count);
  t.vectors.resize(count * dim);
  for (std::size_t i = 0; i < count; ++i) {
    Chunk& c = t.chunks[i];
    std::int32_t position = 0;
    std::uint64_t offset = 0;
    if (!r.get(c.id) || !r.get(position) || !r.get(offset) || !r.get_string(c.doc_id) || !r.get_string(c.chunk_id) ||
        !r.get_string(c.title) || !r.get_string(c.text) || !r.get_bytes(t.vectors.data() + i * dim, dim * sizeof(float))) {
      return corrupt("truncated chunk record " + std::to_string(i));
    }
    c.position = position;
    c.offset = static_cast<std::size_t>(offset);
  }
  return std::nullopt;
}

std::optional<Error> check_dim(std::uint32_t dim) {
  if (dim == 0 || dim > kMaxDim) return corrupt("bad dimension " + std::to_string(dim));
  return std::nullopt;
}

// The optional header fields both formats share: the position, then the analyser.
std::optional<Error> get_optional_fields(Reader& r, std::uint32_t flags, SnapshotData& d) {
  if ((flags & kFlagReplication) && (!r.get_string(d.replication_stream_id) || !r.get(d.replication_sequence))) {
    return corrupt("truncated replication position");
  }
  if ((flags & kFlagAnalyzer) && !r.get_string(d.analyzer)) return corrupt("truncated analyzer");
  return std::nullopt;
}

// Format 1, after the flags: one corpus, which becomes the tenant "default".
Result<SnapshotData> decode_format1(Reader& r, SnapshotData d, std::uint32_t flags) {
  TenantSnapshot t;
  t.tenant = std::string(redis::kDefaultTenant);
  std::uint64_t count = 0;
  if (!r.get(t.index_version) || !r.get(t.next_chunk_key) || !r.get(count)) return corrupt("truncated header");
  if ((flags & ~kKnownFlags) != 0) return corrupt("unknown header flags " + std::to_string(flags));
  if (auto e = get_optional_fields(r, flags, d)) return *e;
  if (flags & kFlagDocuments) {
    std::uint64_t documents = 0;
    if (!r.get_string(d.index_description) || !r.get(documents)) return corrupt("truncated documents header");
    if (auto e = get_documents(r, documents, t)) return *e;
  }
  if (auto e = check_dim(d.dim)) return *e;
  if (auto e = get_chunks(r, count, d.dim, t)) return *e;
  d.tenants.push_back(std::move(t));
  return d;
}

Result<SnapshotData> decode_format2(Reader& r, SnapshotData d, std::uint32_t flags) {
  if ((flags & ~kKnownFlags2) != 0) return corrupt("unknown header flags " + std::to_string(flags));
  if (auto e = get_optional_fields(r, flags, d)) return *e;
  std::uint64_t tenants = 0;
  if (!r.get_string(d.index_description) || !r.get(tenants)) return corrupt("truncated header");
  if (auto e = check_dim(d.dim)) return *e;
  // Each section takes at least its name's length and its four numbers.
  if (tenants > r.remaining() / 36) return corrupt("tenant count exceeds the file");
  d.tenants.resize(tenants);
  for (std::size_t i = 0; i < tenants; ++i) {
    TenantSnapshot& t = d.tenants[i];
    std::uint64_t documents = 0, chunks = 0;
    if (!r.get_string(t.tenant) || !r.get(t.index_version) || !r.get(t.next_chunk_key) || !r.get(documents)) {
      return corrupt("truncated tenant section " + std::to_string(i));
    }
    if (!redis::valid_tenant(t.tenant)) return corrupt("bad tenant name in section " + std::to_string(i));
    if (i > 0 && !(d.tenants[i - 1].tenant < t.tenant)) {
      return corrupt("tenant '" + t.tenant + "' out of order or repeated");
    }
    if (auto e = get_documents(r, documents, t)) return *e;
    if (!r.get(chunks)) return corrupt("truncated tenant section " + std::to_string(i));
    if (auto e = get_chunks(r, chunks, d.dim, t)) return *e;
  }
  return d;
}

}  // namespace

std::string encode_snapshot(const SnapshotData& data) {
  std::string out;
  std::size_t estimate = 64;
  for (const TenantSnapshot& t : data.tenants) {
    estimate += 64 + t.tenant.size() + t.vectors.size() * sizeof(float);
    for (const Chunk& c : t.chunks) estimate += 40 + c.doc_id.size() + c.chunk_id.size() + c.title.size() + c.text.size();
    for (const StoredDocument& d : t.documents) estimate += 16 + d.id.size() + d.title.size() + d.metadata.size() + d.text.size();
  }
  out.reserve(estimate);
  Writer w(out);
  w.put_bytes(kMagic, sizeof kMagic);
  w.put(kSnapshotFormatVersion);
  w.put(data.dim);
  w.put(data.embedder_version);
  const bool replicated = !data.replication_stream_id.empty();
  const bool analysed = !data.analyzer.empty();
  w.put((replicated ? kFlagReplication : std::uint32_t{0}) | (analysed ? kFlagAnalyzer : 0u));
  if (replicated) {
    w.put_string(data.replication_stream_id);
    w.put(data.replication_sequence);
  }
  if (analysed) w.put_string(data.analyzer);
  w.put_string(data.index_description);
  w.put(static_cast<std::uint64_t>(data.tenants.size()));
  for (const TenantSnapshot& t : data.tenants) {
    w.put_string(t.tenant);
    w.put(t.index_version);
    w.put(t.next_chunk_key);
    w.put(static_cast<std::uint64_t>(t.documents.size()));
    for (const StoredDocument& d : t.documents) put_document(w, d);
    w.put(static_cast<std::uint64_t>(t.chunks.size()));
    put_chunks(w, t, data.dim);
  }
  w.put(crc32_of(out));
  w.put_bytes(kEndMagic, sizeof kEndMagic);
  return out;
}

Result<SnapshotData> decode_snapshot(std::string_view bytes) {
  constexpr std::size_t kTrailer = sizeof(std::uint32_t) + sizeof kEndMagic;
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    return corrupt("not a ragd snapshot (bad magic)");
  }
  if (bytes.size() < sizeof kMagic + kTrailer ||
      std::memcmp(bytes.data() + bytes.size() - sizeof kEndMagic, kEndMagic, sizeof kEndMagic) != 0) {
    return corrupt("truncated (no end marker)");
  }
  const std::string_view body = bytes.substr(0, bytes.size() - kTrailer);
  std::uint32_t stored_crc = 0;
  std::memcpy(&stored_crc, bytes.data() + body.size(), sizeof stored_crc);
  if (crc32_of(body) != stored_crc) return corrupt("checksum mismatch");

  Reader r(body.substr(sizeof kMagic));
  SnapshotData d;
  std::uint32_t format = 0, flags = 0;
  if (!r.get(format)) return corrupt("truncated header");
  if (format != 1 && format != kSnapshotFormatVersion) return corrupt("unsupported format version " + std::to_string(format));
  if (!r.get(d.dim) || !r.get(d.embedder_version) || !r.get(flags)) return corrupt("truncated header");
  auto decoded = format == 1 ? decode_format1(r, std::move(d), flags) : decode_format2(r, std::move(d), flags);
  if (!decoded) return decoded;
  if (r.remaining() != 0) return corrupt("trailing bytes after the last chunk");
  return decoded;
}

Result<SnapshotData> read_snapshot_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return make_error(Errc::not_found, "no snapshot at '" + path + "'");
    return io_error("cannot open snapshot", path);
  }
  std::string bytes;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) bytes.reserve(static_cast<std::size_t>(st.st_size));
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      auto e = io_error("cannot read snapshot", path);
      ::close(fd);
      return e;
    }
    if (n == 0) break;
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  auto decoded = decode_snapshot(bytes);
  if (!decoded) return prefixed(path + ": ", decoded.error());
  return decoded;
}

Result<void> write_file_atomically(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot create", tmp);
  if (!write_all(fd, bytes) || ::fsync(fd) != 0) {
    auto e = io_error("cannot write", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return e;
  }
  if (::close(fd) != 0) {
    auto e = io_error("cannot close", tmp);
    ::unlink(tmp.c_str());
    return e;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto e = io_error("cannot rename snapshot to", path);
    ::unlink(tmp.c_str());
    return e;
  }
  // The rename is durable only once the directory entry is on disk.
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return io_error("cannot open directory", dir);
  const int rc = ::fsync(dfd);
  ::close(dfd);
  if (rc != 0) return io_error("cannot fsync directory", dir);
  return {};
}

}  // namespace ragd::retrieval
