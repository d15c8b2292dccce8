// Fused preprocessing kernels: resample (OpenCV's INTER_AREA, bit for bit), colour order,
// normalisation and layout in one pass over the output, into a caller's tensor.
#ifndef CE_FUSED_H
#define CE_FUSED_H

#include <stddef.h>
#include <stdint.h>

// One weight of OpenCV's area tables (DecimateAlpha): output index, source index, weight.
typedef struct {
	int di, si;
	float alpha;
} ce_tap;

// Where and how a resized region lands in the output tensor.
typedef struct {
	int out_w, out_h;   // tensor plane size
	int px, py;         // top-left of the content
	int nchw;           // 1: planar, 0: interleaved
	int src_ch[3];      // BGR channel feeding output channel c
	float mul[3], add[3]; // v = p*mul + add per output channel
} ce_dst;

void ce_pad(float *out, const ce_dst *d, int rw, int rh, const float pad[3]);
void ce_norm(const uint8_t *src, size_t sstep, int rw, int rh, float *buf, float *out, const ce_dst *d);
void ce_area(const uint8_t *src, size_t sstep, int sw, int rw, const ce_tap *xtab, const int *xstart,
             const ce_tap *ytab, int yn, float *buf, float *out, const ce_dst *d);

#endif
