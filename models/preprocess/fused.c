// Bit-exact with OpenCV needs a*b+c rounded twice: no fused multiply-add even if the
// build targets a CPU that has one.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <math.h>
#if defined(__SSE2__)
#include <immintrin.h>
#endif
#include <string.h>

#include "fused.h"

// cvRound + saturate_cast<uchar>: round half to even (the FPU's default mode), clamp.
static inline float sat_u8(float v) {
#if defined(__SSE2__)
	int r = _mm_cvtss_si32(_mm_set_ss(v));
#else
	long r = lrintf(v);
#endif
	return (float)(r < 0 ? 0 : (r > 255 ? 255 : r));
}

// put writes one output row of rw pixels from interleaved BGR values px3. The channel
// order and layout are constants in each caller of put_row, so each gets its own loop.
static inline __attribute__((always_inline)) void put(float *restrict out, const ce_dst *d, int oy,
		const float *restrict px3, int rw, int nchw, int c0, int c1, int c2) {
	const float m0 = d->mul[0], m1 = d->mul[1], m2 = d->mul[2];
	const float a0 = d->add[0], a1 = d->add[1], a2 = d->add[2];
	if (nchw) {
		size_t plane = (size_t)d->out_w * d->out_h;
		float *restrict o0 = out + (size_t)oy * d->out_w + d->px;
		float *restrict o1 = o0 + plane, *restrict o2 = o1 + plane;
		for (int x = 0; x < rw; x++) {
			const float *p = px3 + 3 * x;
			float v0 = p[c0], v1 = p[c1], v2 = p[c2];
			o0[x] = v0 * m0 + a0;
			o1[x] = v1 * m1 + a1;
			o2[x] = v2 * m2 + a2;
		}
	} else {
		float *restrict o = out + ((size_t)oy * d->out_w + d->px) * 3;
		for (int x = 0; x < rw; x++) {
			const float *p = px3 + 3 * x;
			float v0 = p[c0], v1 = p[c1], v2 = p[c2];
			o[3 * x] = v0 * m0 + a0;
			o[3 * x + 1] = v1 * m1 + a1;
			o[3 * x + 2] = v2 * m2 + a2;
		}
	}
}

static void put_row(float *out, const ce_dst *d, int oy, const float *px3, int rw) {
	int rgb = d->src_ch[0] == 2;
	if (d->nchw && rgb)
		put(out, d, oy, px3, rw, 1, 2, 1, 0);
	else if (d->nchw)
		put(out, d, oy, px3, rw, 1, 0, 1, 2);
	else if (rgb)
		put(out, d, oy, px3, rw, 0, 2, 1, 0);
	else
		put(out, d, oy, px3, rw, 0, 0, 1, 2);
}

static void fill(float *out, const ce_dst *d, int x0, int x1, int y0, int y1, const float pad[3]) {
	size_t plane = (size_t)d->out_w * d->out_h;
	for (int y = y0; y < y1; y++)
		for (int c = 0; c < 3; c++) {
			float v = pad[c];
			for (int x = x0; x < x1; x++) {
				size_t i = (size_t)y * d->out_w + x;
				if (d->nchw)
					out[c * plane + i] = v;
				else
					out[i * 3 + c] = v;
			}
		}
}

// ce_pad fills everything outside the rw×rh content at (px,py) with the normalised pad.
void ce_pad(float *out, const ce_dst *d, int rw, int rh, const float pad[3]) {
	fill(out, d, 0, d->out_w, 0, d->py, pad);
	fill(out, d, 0, d->out_w, d->py + rh, d->out_h, pad);
	fill(out, d, 0, d->px, d->py, d->py + rh, pad);
	fill(out, d, d->px + rw, d->out_w, d->py, d->py + rh, pad);
}

// ce_norm normalises an already resized BGR image into the tensor; buf holds 3*rw floats.
void ce_norm(const uint8_t *src, size_t sstep, int rw, int rh, float *buf, float *out, const ce_dst *d) {
	for (int y = 0; y < rh; y++) {
		const uint8_t *s = src + (size_t)y * sstep;
		for (int i = 0; i < 3 * rw; i++)
			buf[i] = (float)s[i];
		put_row(out, d, d->py + y, buf, rw);
	}
}

// hpass is OpenCV's horizontal area step for one source row (ResizeArea_Invoker, cn=3):
// each output value starts at 0 and adds its taps in table order. With SSE2 the three
// channels of a tap go in one vector (lane 4 is ignored): the same float operations per
// lane, so the same values. f holds the row as floats (3*sw + 1), buf 3*rw + 1 floats.
// xstart[dx]..xstart[dx+1] are the taps of output pixel dx.
static void hpass(const uint8_t *restrict S, int sw, const ce_tap *restrict xtab,
		const int *restrict xstart, float *restrict f, float *restrict buf, int rw) {
#if defined(__SSE2__)
	for (int i = 0; i < 3 * sw; i++)
		f[i] = S[i];
	f[3 * sw] = 0;
	for (int dx = 0; dx < rw; dx++) {
		__m128 t = _mm_setzero_ps();
		for (int k = xstart[dx]; k < xstart[dx + 1]; k++)
			t = _mm_add_ps(t, _mm_mul_ps(_mm_loadu_ps(f + xtab[k].si), _mm_set1_ps(xtab[k].alpha)));
		_mm_storeu_ps(buf + 3 * dx, t);
	}
#else
	(void)sw, (void)f;
	for (int dx = 0; dx < rw; dx++) {
		float t0 = 0, t1 = 0, t2 = 0;
		for (int k = xstart[dx]; k < xstart[dx + 1]; k++) {
			const uint8_t *s = S + xtab[k].si;
			float alpha = xtab[k].alpha;
			t0 = t0 + s[0] * alpha;
			t1 = t1 + s[1] * alpha;
			t2 = t2 + s[2] * alpha;
		}
		buf[3 * dx] = t0;
		buf[3 * dx + 1] = t1;
		buf[3 * dx + 2] = t2;
	}
#endif
}

// round_row rounds n values to pixels in place (saturate_cast<uchar>).
static void round_row(float *v, int n) {
	int i = 0;
#if defined(__SSE2__)
	const __m128 lo = _mm_setzero_ps(), hi = _mm_set1_ps(255);
	for (; i + 4 <= n; i += 4) {
		__m128 r = _mm_cvtepi32_ps(_mm_cvtps_epi32(_mm_loadu_ps(v + i)));
		_mm_storeu_ps(v + i, _mm_min_ps(_mm_max_ps(r, lo), hi));
	}
#endif
	for (; i < n; i++)
		v[i] = sat_u8(v[i]);
}

// ce_area resamples with OpenCV's generic INTER_AREA (same tables, same float operations in
// the same order, so the rounded pixels are identical) and normalises each output row as it
// completes. Each source row is filtered once (OpenCV filters a row shared by two output
// rows twice, with the same result). buf holds 2*(3*rw + 1) + 3*sw + 1 floats.
void ce_area(const uint8_t *src, size_t sstep, int sw, int rw, const ce_tap *xtab, const int *xstart,
             const ce_tap *ytab, int yn, float *buf, float *out, const ce_dst *d) {
	int w3 = 3 * rw;
	float *restrict hb = buf, *restrict sum = buf + w3 + 1, *restrict f = buf + 2 * w3 + 2;
	int have = -1, prev = ytab[0].di;
	memset(sum, 0, sizeof(float) * w3);
	for (int j = 0; j < yn; j++) {
		float beta = ytab[j].alpha;
		int dy = ytab[j].di, sy = ytab[j].si;
		if (sy != have) {
			hpass(src + (size_t)sy * sstep, sw, xtab, xstart, f, hb, rw);
			have = sy;
		}
		if (dy != prev) {
			round_row(sum, w3);
			put_row(out, d, d->py + prev, sum, rw);
			for (int i = 0; i < w3; i++)
				sum[i] = beta * hb[i];
			prev = dy;
		} else {
			for (int i = 0; i < w3; i++)
				sum[i] += beta * hb[i];
		}
	}
	round_row(sum, w3);
	put_row(out, d, d->py + prev, sum, rw);
}
