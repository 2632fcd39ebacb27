// engram-spm-train — runs SentencePiece training in its own process for lm/tokenizer.cc.
//
// Why a process: Debian's libsentencepiece bundles protobuf 3.14 and LibTorch loads protobuf
// 3.21; in one process they clash (see lm/spm_shim.cc). Encoding runs in-process through a
// deep-bound module, but training writes to std::cerr, which a deep-bound libstdc++ reference
// reaches before the program's copy of it is constructed. This program links SentencePiece only.
#include <sentencepiece_trainer.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: engram-spm-train 'SENTENCEPIECE TRAINER FLAGS'\n");
    return 2;
  }
  const auto st = sentencepiece::SentencePieceTrainer::Train(argv[1]);
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return 1;
  }
  return 0;
}
