/*
 * png.c - the CLI's --png picture: one 2-D slice of a field in four panels
 * (original, base reconstruction, enhanced output, |error| of the enhanced
 * output), or three without the original (base, enhanced, |enhanced - base|).
 * The value panels share one colour scale (viridis-like; logarithmic for
 * positive fields spanning more than three decades, or on request), the
 * error panel has its own (inferno-like, from 0). Rows run down, columns to
 * the right, in index order. Each panel has a title and
 * a colour bar with its min/max; a 1-D field (or a slice reduced to one
 * line) is drawn as a line plot. Text uses a built-in 5x7 bitmap font.
 * Encoded with libpng into memory.
 */
#include "png.h"

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- font: 5x7 glyphs, bit 4 = leftmost column --------------------------- */
static const char font_chars[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.,-+=:()|/_%<>*";
static const uint8_t font_rows[][7] = {
    {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}, /* 0 */
    {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e}, /* 1 */
    {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}, /* 2 */
    {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e}, /* 3 */
    {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}, /* 4 */
    {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e}, /* 5 */
    {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}, /* 6 */
    {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}, /* 7 */
    {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}, /* 8 */
    {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c}, /* 9 */
    {0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11}, /* A */
    {0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e}, /* B */
    {0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e}, /* C */
    {0x1e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1e}, /* D */
    {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f}, /* E */
    {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10}, /* F */
    {0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f}, /* G */
    {0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11}, /* H */
    {0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e}, /* I */
    {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c}, /* J */
    {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}, /* K */
    {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f}, /* L */
    {0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11}, /* M */
    {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}, /* N */
    {0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e}, /* O */
    {0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10}, /* P */
    {0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d}, /* Q */
    {0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11}, /* R */
    {0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e}, /* S */
    {0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}, /* T */
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e}, /* U */
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04}, /* V */
    {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a}, /* W */
    {0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11}, /* X */
    {0x11, 0x11, 0x0a, 0x04, 0x04, 0x04, 0x04}, /* Y */
    {0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f}, /* Z */
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c}, /* . */
    {0x00, 0x00, 0x00, 0x00, 0x0c, 0x04, 0x08}, /* , */
    {0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00}, /* - */
    {0x00, 0x04, 0x04, 0x1f, 0x04, 0x04, 0x00}, /* + */
    {0x00, 0x00, 0x1f, 0x00, 0x1f, 0x00, 0x00}, /* = */
    {0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00}, /* : */
    {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}, /* ( */
    {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}, /* ) */
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}, /* | */
    {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00}, /* / */
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f}, /* _ */
    {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}, /* % */
    {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02}, /* < */
    {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08}, /* > */
    {0x00, 0x04, 0x15, 0x0e, 0x15, 0x04, 0x00}, /* * */
};

#define FONT_SCALE 2                   /* glyphs drawn at 10x14 pixels       */
#define GLYPH_W (6 * FONT_SCALE)       /* advance, one column of spacing     */
#define GLYPH_H (7 * FONT_SCALE)

/* ---- colour maps: samples at t = 0, 0.1, ..., 1, linearly interpolated ---- */
static const uint8_t viridis[11][3] = {
    {68, 1, 84},    {72, 35, 116},  {64, 67, 135},  {52, 94, 141},
    {41, 120, 142}, {32, 144, 140}, {34, 167, 132}, {68, 190, 112},
    {121, 209, 81}, {189, 222, 38}, {253, 231, 37}};
static const uint8_t inferno[11][3] = {
    {0, 0, 4},      {22, 11, 57},   {66, 10, 104},  {106, 23, 110},
    {147, 38, 103}, {188, 55, 84},  {221, 81, 58},  {243, 118, 27},
    {252, 165, 10}, {246, 215, 70}, {252, 255, 164}};

static void colormap(const uint8_t (*map)[3], double t, uint8_t *rgb) {
  if (!(t >= 0)) t = 0; /* NaN too */
  if (t > 1) t = 1;
  double x = t * 10;
  int i = (int)x;
  if (i > 9) i = 9;
  double f = x - i;
  for (int c = 0; c < 3; c++)
    rgb[c] = (uint8_t)(map[i][c] + f * (map[i + 1][c] - map[i][c]) + 0.5);
}

static const uint8_t SPECIAL_RGB[3] = {150, 150, 150}; /* NaN/Inf/fill cells */
static const uint8_t BG_RGB[3] = {255, 255, 255};
static const uint8_t TEXT_RGB[3] = {0, 0, 0};
static const uint8_t PLOT_BG_RGB[3] = {235, 235, 235};

/* ---- canvas ---------------------------------------------------------------- */
typedef struct {
  int w, h;
  uint8_t *px; /* RGB, row-major */
} canvas;

static void put_px(canvas *c, int x, int y, const uint8_t *rgb) {
  if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
  memcpy(c->px + 3 * ((size_t)y * (size_t)c->w + (size_t)x), rgb, 3);
}

static void fill_rect(canvas *c, int x, int y, int w, int h, const uint8_t *rgb) {
  for (int j = 0; j < h; j++)
    for (int i = 0; i < w; i++) put_px(c, x + i, y + j, rgb);
}

static int text_width(const char *s) { return (int)strlen(s) * GLYPH_W; }

/* Draws s (upper-cased; unknown characters as blanks) with its top left at
 * (x, y). */
static void draw_text(canvas *c, int x, int y, const char *s) {
  for (; *s; s++, x += GLYPH_W) {
    char ch = *s;
    if (ch >= 'a' && ch <= 'z') ch = (char)(ch - 'a' + 'A');
    const char *p = ch ? strchr(font_chars, ch) : NULL;
    if (!p) continue;
    const uint8_t *g = font_rows[p - font_chars];
    for (int r = 0; r < 7; r++)
      for (int k = 0; k < 5; k++)
        if (g[r] & (0x10 >> k))
          fill_rect(c, x + k * FONT_SCALE, y + r * FONT_SCALE, FONT_SCALE, FONT_SCALE, TEXT_RGB);
  }
}

/* ---- the slice --------------------------------------------------------------- */
typedef struct {
  size_t rows, cols;   /* cols = 1 line plot when rows == 1 (see plane_of) */
  int line;            /* 1: draw as a line plot                           */
  size_t off;          /* linear position of element (0, 0)                */
  size_t rstride, cstride;
  int raxis, caxis;    /* C-order axes shown (-1: none)                    */
  size_t fixed[GWLZ_MAX_DIMS];
  int is_fixed[GWLZ_MAX_DIMS];
} plane;

/* Which cells to show: the given axis fixed at its index, extents of 1
 * fixed at 0, then the slowest remaining axes fixed at their middle until at
 * most two remain: two give an image (rows = the slower), one a line. */
static int plane_of(const png_view *v, plane *p, char *err, size_t errlen) {
  size_t stride[GWLZ_MAX_DIMS];
  int nd = v->ndims;
  memset(p, 0, sizeof *p);
  stride[nd - 1] = 1;
  for (int a = nd - 2; a >= 0; a--) stride[a] = stride[a + 1] * v->dims[a + 1];
  if (v->slice_axis >= 0) {
    if (v->slice_axis >= nd) {
      snprintf(err, errlen, "--slice: the field has %d dimensions", nd);
      return 0;
    }
    if (v->slice_index >= v->dims[v->slice_axis]) {
      snprintf(err, errlen, "--slice: index %zu outside 0..%zu", v->slice_index,
               v->dims[v->slice_axis] - 1);
      return 0;
    }
    p->is_fixed[v->slice_axis] = 1;
    p->fixed[v->slice_axis] = v->slice_index;
  }
  int free_axes = 0;
  for (int a = 0; a < nd; a++) {
    if (!p->is_fixed[a] && v->dims[a] == 1) p->is_fixed[a] = 1;
    if (!p->is_fixed[a]) free_axes++;
  }
  for (int a = 0; a < nd && free_axes > 2; a++)
    if (!p->is_fixed[a]) {
      p->is_fixed[a] = 1;
      p->fixed[a] = v->dims[a] / 2;
      free_axes--;
    }
  p->raxis = p->caxis = -1;
  for (int a = 0; a < nd; a++) {
    if (p->is_fixed[a]) {
      p->off += p->fixed[a] * stride[a];
    } else if (p->caxis < 0 && free_axes == 2 && p->raxis < 0) {
      p->raxis = a;
    } else {
      p->caxis = a;
    }
  }
  p->rows = p->raxis >= 0 ? v->dims[p->raxis] : 1;
  p->cols = p->caxis >= 0 ? v->dims[p->caxis] : 1;
  p->rstride = p->raxis >= 0 ? stride[p->raxis] : 0;
  p->cstride = p->caxis >= 0 ? stride[p->caxis] : 0;
  p->line = p->raxis < 0 && p->cols > 1;
  return 1;
}

static double val_at(const png_view *v, const void *a, size_t i) {
  return v->type == GWLZ_TYPE_DOUBLE ? ((const double *)a)[i] : (double)((const float *)a)[i];
}

/* 1 if cell i of the reference array is NaN, Inf or the fill value. */
static int special_at(const png_view *v, const void *ref, size_t i) {
  double x = val_at(v, ref, i);
  if (!isfinite(x)) return 1;
  if (!v->has_fill) return 0;
  if (v->type == GWLZ_TYPE_DOUBLE) return x == v->fill;
  return (float)x == (float)v->fill;
}

/* ---- panels ------------------------------------------------------------------ */
typedef struct {
  const void *a, *b;   /* values: a; error panel: |a - b|                   */
  int error;
  char title[96];
} panel;

typedef struct {
  double lo, hi;       /* value scale                                        */
  int log;             /* log10 scale                                        */
  double emax;         /* error scale: 0..emax                               */
} scales;

static double cell(const png_view *v, const panel *pn, size_t i) {
  double x = val_at(v, pn->a, i);
  return pn->error ? fabs(x - val_at(v, pn->b, i)) : x;
}

/* Position of a value on its panel's scale, in [0, 1]. */
static double scaled(const scales *s, const panel *pn, double x) {
  if (pn->error) return s->emax > 0 ? x / s->emax : 0;
  if (s->log) {
    if (!(x > 0)) return 0;
    return (log10(x) - log10(s->lo)) / (log10(s->hi) - log10(s->lo));
  }
  return s->hi > s->lo ? (x - s->lo) / (s->hi - s->lo) : 0.5;
}

static size_t index_of(const plane *p, size_t r, size_t c) {
  return p->off + r * p->rstride + c * p->cstride;
}

/* Image panel at (x0, y0), w x h pixels, nearest cell per pixel. */
static void draw_image(canvas *cv, int x0, int y0, int w, int h, const png_view *v,
                       const plane *p, const panel *pn, const scales *s, const void *ref) {
  for (int y = 0; y < h; y++) {
    size_t r = (size_t)((double)y * (double)p->rows / (double)h);
    for (int x = 0; x < w; x++) {
      size_t c = (size_t)((double)x * (double)p->cols / (double)w);
      size_t i = index_of(p, r, c);
      uint8_t rgb[3];
      if (special_at(v, ref, i)) memcpy(rgb, SPECIAL_RGB, 3);
      else colormap(pn->error ? inferno : viridis, scaled(s, pn, cell(v, pn, i)), rgb);
      put_px(cv, x0 + x, y0 + y, rgb);
    }
  }
}

/* Line panel: per pixel column, the span of the values of its cells (and the
 * join to the previous column), coloured by value. */
static void draw_line(canvas *cv, int x0, int y0, int w, int h, const png_view *v,
                      const plane *p, const panel *pn, const scales *s, const void *ref) {
  fill_rect(cv, x0, y0, w, h, PLOT_BG_RGB);
  int prev = -1;
  for (int x = 0; x < w; x++) {
    size_t c0 = (size_t)((double)x * (double)p->cols / (double)w);
    size_t c1 = (size_t)((double)(x + 1) * (double)p->cols / (double)w);
    if (c1 <= c0) c1 = c0 + 1;
    double tmin = INFINITY, tmax = -INFINITY;
    for (size_t c = c0; c < c1 && c < p->cols; c++) {
      size_t i = index_of(p, 0, c);
      if (special_at(v, ref, i)) continue;
      double t = scaled(s, pn, cell(v, pn, i));
      if (t < 0) t = 0;
      if (t > 1) t = 1;
      if (t < tmin) tmin = t;
      if (t > tmax) tmax = t;
    }
    if (tmin > tmax) {
      prev = -1;
      continue;
    }
    int ya = y0 + h - 1 - (int)(tmax * (h - 1) + 0.5);
    int yb = y0 + h - 1 - (int)(tmin * (h - 1) + 0.5);
    if (prev >= 0) {
      if (prev < ya) ya = prev;
      if (prev > yb) yb = prev;
    }
    for (int y = ya; y <= yb; y++) {
      uint8_t rgb[3];
      colormap(pn->error ? inferno : viridis, (double)(y0 + h - 1 - y) / (double)(h - 1), rgb);
      put_px(cv, x0 + x, y, rgb);
      put_px(cv, x0 + x, y + 1, rgb); /* two pixels thick */
    }
    prev = y0 + h - 1 - (int)(0.5 * (tmin + tmax) * (h - 1) + 0.5);
  }
}

static void fmt_value(char *buf, size_t n, double x) {
  snprintf(buf, n, "%.4g", x);
}

/* Colour bar under a panel: gradient, min label left, max label right. */
static void draw_bar(canvas *cv, int x0, int y0, int w, const panel *pn, const scales *s) {
  for (int x = 0; x < w; x++) {
    uint8_t rgb[3];
    colormap(pn->error ? inferno : viridis, w > 1 ? (double)x / (double)(w - 1) : 0, rgb);
    fill_rect(cv, x0 + x, y0, 1, 12, rgb);
  }
  char lo[32], hi[32];
  fmt_value(lo, sizeof lo, pn->error ? 0.0 : s->lo);
  fmt_value(hi, sizeof hi, pn->error ? s->emax : s->hi);
  int ty = y0 + 16;
  draw_text(cv, x0, ty, lo);
  draw_text(cv, x0 + w - text_width(hi), ty, hi);
}

/* PSNR of y against x over the regular cells of x (the whole field). */
static double psnr_of(const png_view *v, const void *x, const void *y) {
  size_t n = 1, cnt = 0;
  for (int a = 0; a < v->ndims; a++) n *= v->dims[a];
  double lo = INFINITY, hi = -INFINITY, sse = 0;
  for (size_t i = 0; i < n; i++) {
    if (special_at(v, x, i)) continue;
    double a = val_at(v, x, i), d = a - val_at(v, y, i);
    if (a < lo) lo = a;
    if (a > hi) hi = a;
    sse += d * d;
    cnt++;
  }
  if (cnt == 0 || sse == 0) return INFINITY;
  return 20 * log10(hi - lo) - 10 * log10(sse / (double)cnt);
}

static void db_text(char *buf, size_t n, double db) {
  if (isinf(db)) snprintf(buf, n, " EXACT");
  else snprintf(buf, n, " %.2f DB", db);
}

/* ---- PNG encoding to memory ---------------------------------------------------- */
typedef struct {
  uint8_t *data;
  size_t size, cap;
  int failed;
} membuf;

static void mem_write(png_structp png, png_bytep data, png_size_t len) {
  membuf *m = (membuf *)png_get_io_ptr(png);
  if (m->failed) return;
  if (m->size + len > m->cap) {
    size_t cap = m->cap ? m->cap : 65536;
    while (cap < m->size + len) cap *= 2;
    uint8_t *p = (uint8_t *)realloc(m->data, cap);
    if (!p) {
      m->failed = 1;
      return;
    }
    m->data = p;
    m->cap = cap;
  }
  memcpy(m->data + m->size, data, len);
  m->size += len;
}

static void mem_flush(png_structp png) { (void)png; }

static int encode_png(const canvas *cv, membuf *m) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!png || !info) {
    png_destroy_write_struct(&png, info ? &info : NULL);
    return 0;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return 0;
  }
  png_set_write_fn(png, m, mem_write, mem_flush);
  png_set_IHDR(png, info, (png_uint_32)cv->w, (png_uint_32)cv->h, 8, PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < cv->h; y++) png_write_row(png, cv->px + 3 * (size_t)y * (size_t)cv->w);
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  return !m->failed;
}

/* ---- layout -------------------------------------------------------------------- */
#define MARGIN 16
#define GAP 24
#define PANEL_MIN 256   /* small slices are enlarged to about this size  */
#define PANEL_MAX 512   /* large ones reduced to at most this            */
#define LINE_W 512
#define LINE_H 200

/* Pixel size of an image panel for rows x cols cells. */
static void panel_size(const plane *p, int *w, int *h) {
  if (p->line) {
    *w = LINE_W;
    *h = LINE_H;
    return;
  }
  double big = (double)(p->rows > p->cols ? p->rows : p->cols);
  double f = 1;
  if (big < PANEL_MIN) f = floor(PANEL_MIN / big);
  else if (big > PANEL_MAX) f = PANEL_MAX / big;
  *w = (int)ceil((double)p->cols * f);
  *h = (int)ceil((double)p->rows * f);
  if (*w < 1) *w = 1;
  if (*h < 1) *h = 1;
}

/* 1 if every regular value of the whole field is positive and they span more
 * than three decades. */
static int wide_positive(const png_view *v, const void *ref) {
  size_t n = 1;
  double lo = INFINITY, hi = 0;
  for (int a = 0; a < v->ndims; a++) n *= v->dims[a];
  for (size_t i = 0; i < n; i++) {
    if (special_at(v, ref, i)) continue;
    double x = val_at(v, ref, i);
    if (!(x > 0)) return 0;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return lo < INFINITY && hi > 1000 * lo;
}

/* Value scale over the reference slice (regular cells). */
static void value_scale(const png_view *v, const plane *p, const void *ref, scales *s) {
  double lo = INFINITY, hi = -INFINITY, pos = INFINITY;
  for (size_t r = 0; r < p->rows; r++)
    for (size_t c = 0; c < p->cols; c++) {
      size_t i = index_of(p, r, c);
      if (special_at(v, ref, i)) continue;
      double x = val_at(v, ref, i);
      if (x < lo) lo = x;
      if (x > hi) hi = x;
      if (x > 0 && x < pos) pos = x;
    }
  if (!(lo <= hi)) lo = hi = 0;
  s->log = v->log_scale == 1 || (v->log_scale < 0 && wide_positive(v, ref));
  if (s->log) {
    if (!(pos < INFINITY) || !(hi > pos)) s->log = 0; /* nothing positive to show */
    else lo = pos;
  }
  if (!(hi > lo)) hi = lo + (lo != 0 ? fabs(lo) * 1e-6 : 1);
  s->lo = lo;
  s->hi = hi;
}

static void axis_name(const png_view *v, int axis, char *buf, size_t n) {
  static const char names[] = "XYZW";
  int k = v->ndims - 1 - axis; /* x = fastest, as the CLI gives dims */
  snprintf(buf, n, "%c", k >= 0 && k < 4 ? names[k] : '?');
}

int png_render(const png_view *v, uint8_t **out, size_t *out_size, char *err, size_t errlen) {
  *out = NULL;
  *out_size = 0;
  plane p;
  if (!plane_of(v, &p, err, errlen)) return 0;
  const void *ref = v->orig ? v->orig : v->out;

  panel pn[4];
  int np = 0;
  char db[32];
  memset(pn, 0, sizeof pn);
  if (v->orig) {
    pn[np].a = v->orig;
    snprintf(pn[np++].title, sizeof pn[0].title, "ORIGINAL");
  }
  pn[np].a = v->base;
  snprintf(pn[np].title, sizeof pn[0].title, "BASE (%s)", v->base_name ? v->base_name : "?");
  if (v->orig) {
    db_text(db, sizeof db, psnr_of(v, v->orig, v->base));
    strncat(pn[np].title, db, sizeof pn[0].title - strlen(pn[np].title) - 1);
  }
  np++;
  pn[np].a = v->out;
  snprintf(pn[np].title, sizeof pn[0].title, v->enhanced ? "ENHANCED" : "OUTPUT (NO ENHANCER)");
  if (v->orig) {
    db_text(db, sizeof db, psnr_of(v, v->orig, v->out));
    strncat(pn[np].title, db, sizeof pn[0].title - strlen(pn[np].title) - 1);
  }
  np++;
  pn[np].a = v->out;
  pn[np].b = v->orig ? v->orig : v->base;
  pn[np].error = 1;
  snprintf(pn[np++].title, sizeof pn[0].title, v->orig ? "|ERROR|" : "|ENHANCED - BASE|");

  scales s;
  value_scale(v, &p, ref, &s);
  s.emax = 0;
  for (size_t r = 0; r < p.rows; r++)
    for (size_t c = 0; c < p.cols; c++) {
      size_t i = index_of(&p, r, c);
      if (special_at(v, ref, i)) continue;
      double e = cell(v, &pn[np - 1], i);
      if (e > s.emax) s.emax = e;
    }

  /* caption: what is shown */
  char cap[256], an[4], bn[4];
  int len = snprintf(cap, sizeof cap, "%s", v->caption ? v->caption : "");
  for (int a = 0; a < v->ndims && len < (int)sizeof cap; a++)
    if (p.is_fixed[a] && v->dims[a] > 1) {
      axis_name(v, a, an, sizeof an);
      len += snprintf(cap + len, sizeof cap - (size_t)len, "%s%s=%zu", len ? "  " : "", an,
                      p.fixed[a]);
    }
  if (len < (int)sizeof cap && p.raxis >= 0 && p.caxis >= 0) {
    axis_name(v, p.raxis, an, sizeof an);
    axis_name(v, p.caxis, bn, sizeof bn);
    len += snprintf(cap + len, sizeof cap - (size_t)len, "%sROWS %s  COLUMNS %s",
                    len ? "  " : "", an, bn);
  }
  if (len < (int)sizeof cap && s.log)
    snprintf(cap + len, sizeof cap - (size_t)len, "  LOG COLOUR SCALE");

  int pw, ph;
  panel_size(&p, &pw, &ph);
  int colw = pw;
  for (int k = 0; k < np; k++)
    if (text_width(pn[k].title) > colw) colw = text_width(pn[k].title);
  int width = 2 * MARGIN + np * colw + (np - 1) * GAP;
  if (text_width(cap) + 2 * MARGIN > width) width = text_width(cap) + 2 * MARGIN;
  int y_title = MARGIN + GLYPH_H + 12;
  int y_img = y_title + GLYPH_H + 8;
  int y_bar = y_img + ph + 8;
  int height = y_bar + 16 + GLYPH_H + MARGIN;

  canvas cv = {width, height, NULL};
  cv.px = (uint8_t *)malloc((size_t)width * (size_t)height * 3);
  if (!cv.px) {
    snprintf(err, errlen, "out of memory for a %dx%d picture", width, height);
    return 0;
  }
  fill_rect(&cv, 0, 0, width, height, BG_RGB);
  draw_text(&cv, MARGIN, MARGIN, cap);
  for (int k = 0; k < np; k++) {
    int x0 = MARGIN + k * (colw + GAP);
    draw_text(&cv, x0, y_title, pn[k].title);
    if (p.line) draw_line(&cv, x0, y_img, pw, ph, v, &p, &pn[k], &s, ref);
    else draw_image(&cv, x0, y_img, pw, ph, v, &p, &pn[k], &s, ref);
    draw_bar(&cv, x0, y_bar, pw, &pn[k], &s);
  }
  membuf m = {NULL, 0, 0, 0};
  int ok = encode_png(&cv, &m);
  free(cv.px);
  if (!ok) {
    free(m.data);
    snprintf(err, errlen, "PNG encoding failed");
    return 0;
  }
  *out = m.data;
  *out_size = m.size;
  return 1;
}
