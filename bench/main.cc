// engram-bench: Engram measured against the raw libraries beneath it, one area a subcommand.
//
//   engram-bench core [--n 1000000] [--queries 1000] [--index Flat,HNSW32] [--out core.jsonl] ...
//
// Each area lives in a file of its own (core_bench.cc, ...) and is listed in kAreas below; adding
// `server`, `ingest` or `lm` is one file and one line here.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "bench/common.h"

namespace engram::bench {
int run_filter(Args& args);  // filter_bench.cc
}  // namespace engram::bench

namespace engram::bench {
int run_core(Args& args);
int run_ann(Args& args);
}  // namespace engram::bench

namespace {

struct Area {
  const char* name;
  int (*run)(engram::bench::Args&);
  const char* help;
};

const Area kAreas[] = {
    {"filter", engram::bench::run_filter,
     "filtered search (issue #12): recall@k vs brute force over the matching slots, latency vs\n"
     "           unfiltered and vs an exact scan of the matching keys. Options: --n N (1000000)\n"
     "             --index \"Flat;HNSW32;IVF1024,Flat\" (';'-separated; \"\": upsert only)  --buckets 500,100,10,1\n"
     "             (selectivity = buckets/1000)  --queries N (100)  --single N (20)  --dim N (128)\n"
     "             --k N (10)  --exact-scan-max N (the planner's threshold)  --out FILE  --dir DIR\n"
     "             --keep  --threads N  --no-payload-index  --no-upsert"},
    {"core", engram::bench::run_core,
     "the embedded library vs raw FAISS / RocksDB / hnswlib: insert, batch and single read,\n"
     "           gated write, reopen, HNSW recall/QPS. Options:\n"
     "             --n N              slots (default 1000000; 200k, 1M accepted)\n"
     "             --queries N        queries a batch and for recall (1000)\n"
     "             --index LIST       factory strings (Flat,HNSW32)\n"
     "             --out FILE         also write the JSON lines to FILE\n"
     "             --sections LIST    insert,read,latency,write,reopen,hnsw (all)\n"
     "             --batch N          insert batch (10000)     --k N        read k (32)\n"
     "             --write-k N        write k (8)              --reps N     repetitions (5)\n"
     "             --latency-queries N (1000)  --latency-queries-flat N (100)\n"
     "             --write-batches N  (3)      --hnswlib-m LIST (16,32)   --sweep-reps N (3)\n"
     "             --ef LIST          efSearch / ef sweep (10,16,24,32,48,64,96,128,192,256)\n"
     "             --ef-construction N  every graph's efConstruction, both sides (200)\n"
     "             --clusters N (1000) --spread X (0.12) --seed N (42)\n"
     "             --dir DIR          scratch folder (a new one under /tmp), --keep to keep it\n"
     "             --threads N        OpenMP threads (0: all)  --verbose  let Engram's log through"},
    {"ann", engram::bench::run_ann,
     "every index type at equal recall: Engram vs raw hnswlib / raw FAISS, each at the smallest\n"
     "           ef / nprobe reaching the recall target; batch and single-query search and read,\n"
     "           and the build. Options:\n"
     "             --n N              slots (default 100000)   --queries N (1000)\n"
     "             --index 'LIST'     space-separated strings ('HNSWlib32 Flat IVF1024,Flat')\n"
     "             --recall X         recall@10 target (0.95)  --reps N (3)  --batch N (10000)\n"
     "             --ef-construction N (200)  --clusters N (1000) --spread X (0.12) --seed N (42)\n"
     "             --threads N        OpenMP threads (0: all)  --out FILE  --dir DIR  --keep  --verbose"},
};

void usage() {
  std::fprintf(stderr, "usage: engram-bench <area> [options]\nareas:\n");
  for (const Area& a : kAreas) std::fprintf(stderr, "  %-8s %s\n", a.name, a.help);
  std::fprintf(stderr,
               "Every measurement prints one JSON line (Engram figure, raw figure, ratio); a table\n"
               "follows at the end.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help")) {
    usage();
    return argc < 2 ? 2 : 0;
  }
  for (const Area& a : kAreas) {
    if (a.name != std::string(argv[1])) continue;
    try {
      engram::bench::Args args(argc, argv, 2);
      return a.run(args);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "engram-bench %s: %s\n", a.name, e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "engram-bench: unknown area '%s'\n", argv[1]);
  usage();
  return 2;
}
