#include "index/index_grammar.h"

#include <regex>
#include <vector>

#include "engram/error.h"

namespace engram::index {
namespace {

constexpr long kMaxM = 256;            // HNSW links per node: memory per node grows with 2·M
constexpr long kMaxLists = 262144;     // IVF lists: FAISS's guidance tops out at 2^18
constexpr long kMaxBits = 10;          // PQ bits per code: 2^bits centroids per sub-quantizer to train
constexpr long kMaxEf = 65536;
constexpr long kMaxRotation = 65536;  // RR output dimension

[[noreturn]] void reject(const IndexSpec& spec, const std::string& why) {
  throw Error(ErrorCode::kInvalidArgument, "index '" + spec.factory + "' on " +
                                               std::to_string(spec.dim) + "-d keys: " + why);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string::size_type begin = 0;
  for (;;) {
    const auto end = s.find(sep, begin);
    parts.push_back(s.substr(begin, end - begin));
    if (end == std::string::npos) return parts;
    begin = end + 1;
  }
}

// A number of at most 9 digits (regexes below allow no more), so it cannot overflow.
long number(const std::ssub_match& m) { return m.matched ? std::stol(m.str()) : -1; }

class Checker {
 public:
  explicit Checker(const IndexSpec& spec) : spec_(spec), dim_(spec.dim) {}

  void run() {
    if (spec_.dim < 1) reject(spec_, "the dimension must be at least 1");
    static const std::regex hnswlib("HNSWlib([0-9]{1,9})");
    std::smatch m;
    if (std::regex_match(spec_.factory, m, hnswlib)) {
      check_m(number(m[1]));
      graph_ = true;
      check_ef_construction();
      return check_search_params();
    }
    if (spec_.factory.rfind("HNSWlib", 0) == 0) reject(spec_, "the hnswlib backend is written HNSWlib<M>, e.g. HNSWlib32");
    const auto parts = split(spec_.factory, ',');
    std::size_t i = 0;
    while (i + 1 < parts.size() && transform(parts[i])) ++i;
    if (ivf(parts[i])) {
      if (i + 2 != parts.size()) reject(spec_, "IVF<n> must be followed by exactly one coder: Flat, SQ8 or PQ<m>");
      if (!coder(parts[i + 1], /*allow_bits=*/true)) unknown(parts[i + 1]);
    } else {
      if (i + 1 != parts.size()) unknown(parts[i]);
      if (!main(parts[i])) unknown(parts[i]);
    }
    check_ef_construction();
    check_search_params();
  }

 private:
  void check_ef_construction() {
    if (spec_.ef_construction == 0) return;
    if (!graph_) reject(spec_, "ef_construction applies to HNSW indexes only");
    if (spec_.ef_construction < 1 || spec_.ef_construction > kMaxEf)
      reject(spec_, "ef_construction must be in 1.." + std::to_string(kMaxEf));
  }

  [[noreturn]] void unknown(const std::string& part) {
    reject(spec_, part.empty() ? std::string("an empty component")
                               : "'" + part + "' is not an index component Engram supports (see docs/indexes.md: "
                                 "Flat, HNSW<M>, IVF<n>,Flat|SQ8|PQ<m>, PQ<m>, SQ8, HNSWlib<M>, "
                                 "with PCA<d>, OPQ<m>, RR<d>, L2norm before them)");
  }

  void check_m(long M) {
    if (M < 2 || M > kMaxM) reject(spec_, "HNSW needs M in 2.." + std::to_string(kMaxM) + ", got " + std::to_string(M));
  }

  void check_pq(long m, long bits) {
    if (m < 1 || m > dim_ || dim_ % m != 0)
      reject(spec_, "PQ" + std::to_string(m) + " needs m in 1.." + std::to_string(dim_) +
                        " dividing the dimension it codes (" + std::to_string(dim_) + ")");
    if (bits != -1 && (bits < 1 || bits > kMaxBits))
      reject(spec_, "PQ bits must be in 1.." + std::to_string(kMaxBits) + ", got " + std::to_string(bits));
  }

  // PCA/OPQ/RR/L2norm: true (and the dimension updated) when `part` is one.
  bool transform(const std::string& part) {
    static const std::regex pca("PCA(R|W|WR)?([0-9]{1,9})"), opq("OPQ([0-9]{1,9})(_([0-9]{1,9}))?"),
        rr("RR([0-9]{1,9})");
    std::smatch m;
    if (part == "L2norm") return true;
    if (std::regex_match(part, m, pca)) {
      const long out = number(m[2]);
      if (out < 1 || out > dim_) reject(spec_, part + " must reduce the dimension to 1.." + std::to_string(dim_));
      dim_ = out;
      return true;
    }
    if (std::regex_match(part, m, opq)) {
      const long out = m[3].matched ? number(m[3]) : dim_;
      if (out < 1 || out > dim_) reject(spec_, part + " must output 1.." + std::to_string(dim_) + " dimensions");
      const long sub = number(m[1]);
      if (sub < 1 || out % sub != 0) reject(spec_, part + " needs a number of sub-spaces dividing " + std::to_string(out));
      dim_ = out;
      return true;
    }
    if (std::regex_match(part, m, rr)) {
      const long out = number(m[1]);
      if (out < 1 || out > kMaxRotation) reject(spec_, part + " must output 1.." + std::to_string(kMaxRotation) + " dimensions");
      dim_ = out;
      return true;
    }
    return false;
  }

  // "IVF<n>[_HNSW<M>]": true when `part` is the coarse quantizer of an IVF index.
  bool ivf(const std::string& part) {
    static const std::regex form("IVF([0-9]{1,9})(_HNSW([0-9]{1,9}))?");
    std::smatch m;
    if (!std::regex_match(part, m, form)) {
      if (part.rfind("IVF", 0) == 0) unknown(part);
      return false;
    }
    lists_ = number(m[1]);
    if (lists_ < 1 || lists_ > kMaxLists)
      reject(spec_, "IVF needs 1.." + std::to_string(kMaxLists) + " lists, got " + std::to_string(lists_));
    if (m[2].matched) check_m(number(m[3]));
    return true;
  }

  // Flat, SQ*, PQ<m>[x<bits>]: the codes an IVF list or a flat index stores.
  bool coder(const std::string& part, bool allow_bits) {
    static const std::regex sq("SQ(4|6|8|fp16)"), pq("PQ([0-9]{1,9})(x([0-9]{1,9}))?");
    std::smatch m;
    if (part == "Flat" || std::regex_match(part, sq)) return true;
    if (!std::regex_match(part, m, pq)) return false;
    if (m[2].matched && !allow_bits) reject(spec_, "HNSW<M>_PQ<m> takes no bit count");
    check_pq(number(m[1]), number(m[3]));
    return true;
  }

  bool main(const std::string& part) {
    static const std::regex hnsw("HNSW([0-9]{1,9})(_(.+))?");
    std::smatch m;
    if (std::regex_match(part, m, hnsw)) {
      check_m(number(m[1]));
      graph_ = true;
      return !m[2].matched || coder(m[3].str(), /*allow_bits=*/false);
    }
    return coder(part, /*allow_bits=*/true);
  }

  void check_search_params() {
    if (spec_.search_params.empty()) return;
    static const std::regex form("(efSearch|nprobe)=([0-9]{1,9})");
    for (const std::string& p : split(spec_.search_params, ',')) {
      std::smatch m;
      if (!std::regex_match(p, m, form))
        reject(spec_, "search parameter '" + p + "' is not efSearch=<n> or nprobe=<n>");
      const long v = number(m[2]);
      if (m[1] == "efSearch") {
        if (!graph_) reject(spec_, "efSearch applies to HNSW indexes only");
        if (v < 1 || v > kMaxEf) reject(spec_, "efSearch must be in 1.." + std::to_string(kMaxEf));
      } else {
        if (lists_ < 1) reject(spec_, "nprobe applies to IVF indexes only");
        if (v < 1 || v > lists_) reject(spec_, "nprobe must be in 1.." + std::to_string(lists_));
      }
    }
  }

  const IndexSpec& spec_;
  long dim_;          // the dimension entering the next component
  long lists_ = -1;   // IVF lists, when the index is IVF
  bool graph_ = false;  // an HNSW graph (efSearch applies)
};

}  // namespace

void check_index_spec(const IndexSpec& spec) { Checker(spec).run(); }

}  // namespace engram::index
