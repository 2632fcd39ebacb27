// lm/spm_shim.cc — a C interface over SentencePiece, built as a module that the tokenizer
// loads with dlopen(RTLD_LOCAL | RTLD_DEEPBIND).
//
// Why: Debian's libsentencepiece carries its own protobuf 3.14 runtime and exports its symbols;
// LibTorch loads the system protobuf 3.21. Linked into one program, each library binds to the
// other's protobuf and the process crashes at start-up or aborts on a version check. Loaded
// locally with deep binding, SentencePiece keeps to its own copy and nothing else sees it.
// Training is not here: it runs in a helper process (tools/spm_train_main.cc).
#include <sentencepiece_processor.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {
char* dup(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}
}  // namespace

extern "C" {

void* engram_spm_load(const char* path, char** error) {
  auto* sp = new sentencepiece::SentencePieceProcessor();
  const auto st = sp->Load(path);
  if (!st.ok()) {
    *error = dup(std::string(st.message()));
    delete sp;
    return nullptr;
  }
  return sp;
}

void engram_spm_close(void* h) { delete static_cast<sentencepiece::SentencePieceProcessor*>(h); }

// *ids is malloc'ed (release with engram_spm_free).
int engram_spm_encode(void* h, const char* text, std::size_t len, int** ids, std::size_t* n) {
  std::vector<int> v;
  if (!static_cast<sentencepiece::SentencePieceProcessor*>(h)->Encode(std::string(text, len), &v).ok()) return -1;
  *n = v.size();
  *ids = static_cast<int*>(std::malloc(sizeof(int) * (v.size() + 1)));
  std::memcpy(*ids, v.data(), sizeof(int) * v.size());
  return 0;
}

char* engram_spm_decode(void* h, const int* ids, std::size_t n) {
  std::string out;
  static_cast<sentencepiece::SentencePieceProcessor*>(h)->Decode(std::vector<int>(ids, ids + n), &out);
  return dup(out);
}

char* engram_spm_piece(void* h, int id) {
  return dup(static_cast<sentencepiece::SentencePieceProcessor*>(h)->IdToPiece(id));
}

int engram_spm_piece_to_id(void* h, const char* piece) {
  auto* sp = static_cast<sentencepiece::SentencePieceProcessor*>(h);
  const int id = sp->PieceToId(piece);
  return id == sp->unk_id() && sp->IdToPiece(id) != piece ? -1 : id;
}

int engram_spm_size(void* h) { return static_cast<sentencepiece::SentencePieceProcessor*>(h)->GetPieceSize(); }
int engram_spm_eos(void* h) { return static_cast<sentencepiece::SentencePieceProcessor*>(h)->eos_id(); }
void engram_spm_free(void* p) { std::free(p); }

}  // extern "C"
