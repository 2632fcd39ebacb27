// lm/tokenizer.cc — SentencePiece training and encoding, through the shim module (see
// lm/spm_shim.cc for why SentencePiece is not linked directly).
#include "lm/tokenizer.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>

#include "engram/error.h"
#include "lm/reader.h"

#ifndef ENGRAM_SPM_TRAIN_PATH
#define ENGRAM_SPM_TRAIN_PATH "engram-spm-train"
#endif
#ifndef ENGRAM_SPM_SHIM_PATH
#define ENGRAM_SPM_SHIM_PATH "libengram_spm.so"
#endif

namespace engram::lm {

namespace fs = std::filesystem;

namespace {

struct Shim {
  void* (*load)(const char*, char**);
  void (*close)(void*);
  int (*encode)(void*, const char*, std::size_t, int**, std::size_t*);
  char* (*decode)(void*, const int*, std::size_t);
  char* (*piece)(void*, int);
  int (*piece_to_id)(void*, const char*);
  int (*size)(void*);
  int (*eos)(void*);
  void (*free)(void*);
};

const Shim& shim() {
  static Shim s;
  static std::once_flag once;
  std::call_once(once, [] {
    // ENGRAM_SPM_SHIM overrides; then the module built with this library; then the loader's path.
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("ENGRAM_SPM_SHIM")) candidates.push_back(env);
    candidates.push_back(ENGRAM_SPM_SHIM_PATH);
    candidates.push_back("libengram_spm.so");
    void* h = nullptr;
    std::string errors;
    for (const auto& c : candidates) {
      h = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (h != nullptr) break;
      errors += std::string(" ") + dlerror();
    }
    if (h == nullptr)
      throw Error(ErrorCode::kFailedPrecondition, "tokenizer: cannot load the SentencePiece module:" + errors);
    auto sym = [&](const char* name) {
      void* p = dlsym(h, name);
      if (p == nullptr) throw Error(ErrorCode::kInternal, std::string("tokenizer: missing symbol ") + name);
      return p;
    };
    s.load = reinterpret_cast<void* (*)(const char*, char**)>(sym("engram_spm_load"));
    s.close = reinterpret_cast<void (*)(void*)>(sym("engram_spm_close"));
    s.encode = reinterpret_cast<int (*)(void*, const char*, std::size_t, int**, std::size_t*)>(sym("engram_spm_encode"));
    s.decode = reinterpret_cast<char* (*)(void*, const int*, std::size_t)>(sym("engram_spm_decode"));
    s.piece = reinterpret_cast<char* (*)(void*, int)>(sym("engram_spm_piece"));
    s.piece_to_id = reinterpret_cast<int (*)(void*, const char*)>(sym("engram_spm_piece_to_id"));
    s.size = reinterpret_cast<int (*)(void*)>(sym("engram_spm_size"));
    s.eos = reinterpret_cast<int (*)(void*)>(sym("engram_spm_eos"));
    s.free = reinterpret_cast<void (*)(void*)>(sym("engram_spm_free"));
  });
  return s;
}

std::string take(char* p) {
  std::string s = p != nullptr ? p : "";
  shim().free(p);
  return s;
}

}  // namespace

struct Tokenizer::Handle {
  void* sp = nullptr;
  ~Handle() {
    if (sp != nullptr) shim().close(sp);
  }
};

Tokenizer::Tokenizer() : sp_(std::make_unique<Handle>()) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

void Tokenizer::train(const std::vector<std::string>& texts, int vocab_size,
                      const std::string& model_path, int threads) {
  std::size_t chars = 0;
  for (const auto& t : texts)
    for (char c : t) chars += !std::isspace(static_cast<unsigned char>(c));
  if (chars == 0) throw Error(ErrorCode::kInvalidArgument, "tokenizer: the corpus is empty");
  if (vocab_size < 8) throw Error(ErrorCode::kInvalidArgument, "tokenizer: vocab_size must be >= 8");
  // Byte fallback needs its 256 byte pieces besides every character of the corpus and the
  // meta pieces: a smaller vocabulary (tiny test models) is raised to the least that fits.
  // Characters are counted by their UTF-8 bytes packed into one number (whitespace aside).
  auto continuation = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
  std::set<uint32_t> chars_seen;
  for (const auto& t : texts)
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (continuation(t[i]) || std::isspace(static_cast<unsigned char>(t[i]))) continue;
      uint32_t c = static_cast<unsigned char>(t[i]);
      for (std::size_t j = i + 1; j < t.size() && continuation(t[j]); ++j) c = (c << 8) | static_cast<unsigned char>(t[j]);
      chars_seen.insert(c);
    }
  vocab_size = std::max<int>(vocab_size, 256 + static_cast<int>(chars_seen.size()) + 16);
  // SentencePiece trains from files; write the corpus to one next to the model.
  const std::string input = model_path + ".train.txt";
  {
    std::ofstream out(input, std::ios::binary);
    for (const auto& t : texts) out << t << '\n';
    if (!out) throw Error(ErrorCode::kIOError, "tokenizer: cannot write " + input);
  }
  std::string prefix = model_path;
  if (prefix.size() > 6 && prefix.substr(prefix.size() - 6) == ".model")
    prefix = prefix.substr(0, prefix.size() - 6);
  // hard_vocab_limit=false: a small corpus yields fewer pieces instead of failing.
  // byte_fallback: a character the corpus never showed ("é" in "Bogotá") is written as its
  // UTF-8 bytes instead of ⁇, so any answer can be spelled. split_digits: a number is its
  // digits, so years and codes the model never saw are copied digit by digit.
  // The reader's marks are single pieces (lm/reader.h).
  std::string symbols;
  for (const char* m : kReaderMarks) symbols += std::string(symbols.empty() ? "" : ",") + m;
  const std::string args =
      "--input=" + input + " --model_prefix=" + prefix + " --vocab_size=" +
      std::to_string(vocab_size) +
      " --model_type=unigram --character_coverage=0.9999 --hard_vocab_limit=false"
      " --byte_fallback=true --split_digits=true --user_defined_symbols=" + symbols +
      " --input_sentence_size=2000000 --shuffle_input_sentence=true --max_sentence_length=16384"
      " --num_threads=" + std::to_string(std::max(1, threads)) + " --minloglevel=2";
  // Training runs in a helper process (tools/spm_train_main.cc explains why).
  std::string exe = ENGRAM_SPM_TRAIN_PATH;
  if (const char* env = std::getenv("ENGRAM_SPM_TRAIN")) exe = env;
  if (!fs::exists(exe)) exe = "engram-spm-train";  // from PATH
  std::string err;
  // SentencePiece logs its banner ("Running command: ...") and its progress to stderr before
  // it reads --minloglevel: the helper's stderr goes to a file, shown only when training fails.
  const std::string log = prefix + ".train.log";
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) ::dup2(fd, STDERR_FILENO);
    execlp(exe.c_str(), exe.c_str(), args.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0)
    err = "cannot start " + exe;
  else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    err = WIFEXITED(status) && WEXITSTATUS(status) == 127 ? "cannot run " + exe
                                                            : exe + " failed (status " + std::to_string(status) + ")";
  if (!err.empty()) {
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.size() > 2000) text = "..." + text.substr(text.size() - 2000);
    if (!text.empty()) err += ":\n" + text;
  }
  fs::remove(log);
  fs::remove(input);
  fs::remove(prefix + ".vocab");
  if (!err.empty()) throw Error(ErrorCode::kInvalidArgument, "tokenizer: SentencePiece training failed: " + err);
  if (prefix + ".model" != model_path) fs::rename(prefix + ".model", model_path);
}

Tokenizer Tokenizer::load(const std::string& model_path) {
  if (!fs::exists(model_path))
    throw Error(ErrorCode::kNotFound, "tokenizer: no tokenizer model at " + model_path);
  Tokenizer t;
  char* err = nullptr;
  t.sp_->sp = shim().load(model_path.c_str(), &err);
  if (t.sp_->sp == nullptr)
    throw Error(ErrorCode::kCorruption,
                "tokenizer: " + model_path + " is not a SentencePiece model: " + take(err));
  t.path_ = model_path;
  return t;
}

std::vector<int> Tokenizer::encode(const std::string& text) const {
  int* ids = nullptr;
  std::size_t n = 0;
  if (shim().encode(sp_->sp, text.data(), text.size(), &ids, &n) != 0)
    throw Error(ErrorCode::kInvalidArgument, "tokenizer: cannot encode the text");
  std::vector<int> out(ids, ids + n);
  shim().free(ids);
  return out;
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
  return take(shim().decode(sp_->sp, ids.data(), ids.size()));
}

std::string Tokenizer::piece(int id) const { return take(shim().piece(sp_->sp, id)); }
int Tokenizer::piece_id(const std::string& piece) const { return shim().piece_to_id(sp_->sp, piece.c_str()); }
int Tokenizer::vocab_size() const { return shim().size(sp_->sp); }
int Tokenizer::eos_id() const { return shim().eos(sp_->sp); }

}  // namespace engram::lm
