/* CSV of numbers with a header row, read with strtof (exact to the float); shared by the checks. */
#ifndef ROWS_H
#define ROWS_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads every cell after the header of `path`; returns the number of cells, sets *cols. */
static float* read_rows(const char* path, size_t* count, size_t* cols) {
  FILE* f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "%s: cannot read\n", path);
    exit(2);
  }
  char line[65536];
  size_t n = 0, cap = 1024;
  float* v = (float*)malloc(cap * sizeof(float));
  int header = 1;
  *cols = 0;
  while (fgets(line, sizeof line, f)) {
    if (header) {
      header = 0;
      continue;
    }
    size_t in_row = 0;
    for (char* cell = strtok(line, ",\r\n"); cell; cell = strtok(NULL, ",\r\n")) {
      if (n == cap) v = (float*)realloc(v, (cap *= 2) * sizeof(float));
      v[n++] = strtof(cell, NULL);
      ++in_row;
    }
    if (in_row) *cols = in_row;
  }
  fclose(f);
  *count = n;
  return v;
}

/* 0 when `got` and `want` hold the same bits, else a message and 1. */
static int same_bits(const char* what, const float* got, const float* want, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    unsigned a, b;
    memcpy(&a, &got[i], 4);
    memcpy(&b, &want[i], 4);
    if (a != b) {
      fprintf(stderr, "%s: value %zu is %.9g (0x%08x), evoc run gave %.9g (0x%08x)\n", what, i, got[i], a, want[i], b);
      return 1;
    }
  }
  return 0;
}
#endif
