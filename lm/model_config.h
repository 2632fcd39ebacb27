// lm/model_config.h — the shape of a model: what must be known to rebuild it from a checkpoint.
// No LibTorch here, so that command-line and I/O code can use it without the compile cost.
#pragma once

#include <string>

namespace engram::lm {

// kNN read-out settings fixed after training: `engram tune-readout` picks them on a dev split of
// facts and validation text and writes them into config.json (as the flat "knn_*" fields); 0
// keeps the learned values. They act wherever the model runs: eval, generate, resumed training.
struct KnnReadout {
  //   scale > 0:         p_kNN = Σ softmax(scale·cos) instead of the learned scale
  //   lambda_slope > 0:  λ = lambda_max · σ(lambda_slope·(max cos − lambda_center))
  float scale = 0.0f;
  float lambda_slope = 0.0f;
  float lambda_center = 0.0f;
  float lambda_max = 1.0f;
  //   exact_cos > 0:     where max cos >= exact_cos (the query's context is one the memory holds
  //                      word for word) p_kNN uses exact_scale and λ is exact_lambda: an
  //                      identical context's continuation is copied
  float exact_cos = 0.0f;
  float exact_scale = 0.0f;
  float exact_lambda = 0.0f;
};

struct ModelConfig {
  int vocab_size = 4000;
  int block_size = 128;  // positions the model knows: the length of a training segment
  int n_layer = 4;
  int n_head = 4;
  int d_model = 256;
  int d_ff = 0;          // 0: 4 × d_model
  float dropout = 0.0f;

  // The block (0-based) that holds the memory-attention sublayer; −1: no memory sublayer.
  int memory_layer = -1;
  int memory_dim = 0;    // key and value width of a memory slot; 0: d_model
  int memory_k = 32;     // slots retrieved per query
  // Cosine scores with a learned sharpness (kNN-style) rather than q·k/√dk: a bare prompt and a
  // fact inside a long paragraph differ in norm far more than in direction.
  bool memory_cosine = true;
  float memory_scale_init = 16.0f;
  float gate_init = 0.01f;  // g starts near 0: a fresh memory sublayer must not disturb the LM
  // W_k shares W_q: stored keys get no gradient (they are constants in the store), so a
  // separate W_k would stay at its random initialisation.
  bool tie_memory_qk = true;
  // A slot pairs the key of position t with the value of position t+1, so that a query made
  // at the end of a prompt finds the token that followed the same context (kNN-LM style).
  bool memory_shift_values = true;
  // kNN-LM read-out: a slot's value is the id of the token that followed its key (value[0]),
  // and the output distribution is (1−λ)·p_LM + λ·p_kNN with p_kNN = Σ softmax(scale·cos)
  // over the retrieved slots' tokens and λ = σ(a·max cos + b) (scale, a, b learned). The memory
  // sublayer then does not update the residual stream. Needs memory_shift_values.
  bool memory_knn = false;
  // The kNN read-out fixed after training (KnnReadout below; 0s keep the learned values).
  KnnReadout readout;
  // Keys and queries of the kNN read-out are LN(h) itself (kNN-LM's choice: the input of the
  // last feed-forward network) instead of W_q·LN(h). Needs memory_dim = d_model (or 0).
  bool knn_key_hidden = false;

  // Passages the model reads in context before a question (lm/reader.h), retrieved from the
  // passage memory with the lexical keys saved beside the model (passage_keys.tsv); 0: the
  // model was not trained to read passages.
  int read_passages = 0;
  // A pointer over the passages read in context (lm/copy_head.h): answers are copied from them.
  bool copy_head = false;
  // The longest run of tokens the copy head matches between what was just read and the
  // passages (lm/copy_head.h): 1 matches the last token only; longer runs find the occurrence
  // a question or a partly copied answer continues.
  int copy_match = 1;

  int ff_dim() const { return d_ff > 0 ? d_ff : 4 * d_model; }
  int mem_dim() const { return memory_dim > 0 ? memory_dim : d_model; }
  bool has_memory() const { return memory_layer >= 0; }
};

// Throws engram::Error(kInvalidArgument) naming the first bad field.
void validate(const ModelConfig& c);

std::string model_config_to_json(const ModelConfig& c);
ModelConfig model_config_from_json(const std::string& json);

}  // namespace engram::lm
