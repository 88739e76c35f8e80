/* codec/common.c - the shared pieces of the compression area: codec names,
 * codec= and level= parsing, magic-byte detection and the error mappers
 * (one per library).  No compression happens here; see codec.h.
 */
#include "codec/codec.h"

#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>
#include <lz4frame.h>

static const char *const codec_names[FC_CODEC_COUNT] = {
    "zlib", "deflate", "gzip", "zstd", "lz4",
};

#define VALID_CODECS "'zlib', 'deflate', 'gzip', 'zstd', 'lz4'"

const char *
fc_codec_name(int codec)
{
    if (codec < 0 || codec >= FC_CODEC_COUNT) {
        return NULL;
    }
    return codec_names[codec];
}

int
fc_codec_parse(PyObject *obj, int allow_auto, int dflt, int *out)
{
    if (obj == NULL || obj == Py_None) {
        if (allow_auto) {
            *out = FC_CODEC_AUTO;
            return 0;
        }
        if (dflt < 0) {
            PyErr_SetString(PyExc_TypeError,
                            "codec must be a str, one of " VALID_CODECS);
            return -1;
        }
        *out = dflt;
        return 0;
    }
    if (!PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "codec must be a str%s, not '%.100s'",
                     allow_auto ? " or None" : "", Py_TYPE(obj)->tp_name);
        return -1;
    }
    const char *name = PyUnicode_AsUTF8(obj);
    if (name == NULL) {
        return -1;
    }
    for (int i = 0; i < FC_CODEC_COUNT; i++) {
        if (strcmp(name, codec_names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    PyErr_Format(PyExc_ValueError,
                 "unknown codec %R; valid codecs are " VALID_CODECS "%s",
                 obj, allow_auto ? " (or None to detect)" : "");
    return -1;
}

int
fc_codec_detect(const unsigned char *p, Py_ssize_t n)
{
    if (n < 2) {
        return FC_DETECT_NEED_MORE;
    }
    if (p[0] == 0x1f && p[1] == 0x8b) {
        return FC_CODEC_GZIP;
    }
    /* zlib: CM = 8 (deflate), CINFO <= 7, header check multiple of 31. */
    int zlib = (p[0] & 0x0f) == 8 && (p[0] >> 4) <= 7 &&
               ((p[0] << 8) | p[1]) % 31 == 0;
    if (n < 4) {
        /* zstd and lz4 need four bytes; 28 b5 and 04 22 are not zlib. */
        if ((p[0] == 0x28 && p[1] == 0xb5) || (p[0] == 0x04 && p[1] == 0x22) ||
            ((p[0] & 0xf0) == 0x50 && p[1] == 0x2a)) {
            return FC_DETECT_NEED_MORE;
        }
        return zlib ? FC_CODEC_ZLIB : FC_DETECT_UNKNOWN;
    }
    uint32_t magic = (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
                     ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    if (magic == 0xFD2FB528u) {
        return FC_CODEC_ZSTD;
    }
    if (magic == 0x184D2204u) {
        return FC_CODEC_LZ4;
    }
    /* Skippable frames (0x184D2A50..5F) are shared by zstd and lz4; zstd
     * writes them far more often (seekable format, pzstd). */
    if ((magic & 0xFFFFFFF0u) == 0x184D2A50u) {
        return FC_CODEC_ZSTD;
    }
    return zlib ? FC_CODEC_ZLIB : FC_DETECT_UNKNOWN;
}

int
fc_codec_detect_or_raise(fc_state *st, const unsigned char *p, Py_ssize_t n)
{
    int c = fc_codec_detect(p, n);
    if (c >= 0) {
        return c;
    }
    if (c == FC_DETECT_NEED_MORE || n == 0) {
        PyErr_Format(st->DecompressionError,
                     "cannot detect the codec of %zd byte(s) of input: too "
                     "short (pass codec=)", n);
    }
    else {
        PyErr_Format(st->DecompressionError,
                     "cannot detect the codec: the input starts with no known "
                     "magic (gzip, zstd, lz4 frame, zlib); pass codec= "
                     "(raw deflate has no magic)");
    }
    return -1;
}

int
fc_codec_from_filename(const char *path)
{
    static const struct { const char *ext; int codec; } exts[] = {
        {".gz", FC_CODEC_GZIP}, {".gzip", FC_CODEC_GZIP},
        {".tgz", FC_CODEC_GZIP}, {".zst", FC_CODEC_ZSTD},
        {".zstd", FC_CODEC_ZSTD}, {".lz4", FC_CODEC_LZ4},
        {".zz", FC_CODEC_ZLIB}, {".zlib", FC_CODEC_ZLIB},
        {".deflate", FC_CODEC_DEFLATE},
    };
    size_t len = strlen(path);
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        size_t el = strlen(exts[i].ext);
        if (len > el && strcmp(path + len - el, exts[i].ext) == 0) {
            return exts[i].codec;
        }
    }
    return -1;
}

/* --- levels ------------------------------------------------------------ */

int
fc_codec_level_min(int codec)
{
    switch (codec) {
    case FC_CODEC_ZSTD:
        return ZSTD_minCLevel();
    case FC_CODEC_LZ4:
        return 0;
    default:
        return -1;      /* zlib's Z_DEFAULT_COMPRESSION */
    }
}

int
fc_codec_level_max(int codec)
{
    switch (codec) {
    case FC_CODEC_ZSTD:
        return ZSTD_maxCLevel();
    case FC_CODEC_LZ4:
        return 12;      /* LZ4HC_CLEVEL_MAX */
    default:
        return 9;
    }
}

int
fc_codec_level_default(int codec)
{
    switch (codec) {
    case FC_CODEC_ZSTD:
        return ZSTD_CLEVEL_DEFAULT;
    case FC_CODEC_LZ4:
        return 0;
    default:
        return 6;
    }
}

int
fc_codec_parse_level(int codec, PyObject *obj, int *out)
{
    if (obj == NULL || obj == Py_None) {
        *out = fc_codec_level_default(codec);
        return 0;
    }
    if (!PyLong_Check(obj) || PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "level must be an int or None, not '%.100s'",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    int overflow;
    long v = PyLong_AsLongAndOverflow(obj, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    int lo = fc_codec_level_min(codec), hi = fc_codec_level_max(codec);
    if (overflow || v < lo || v > hi) {
        PyErr_Format(PyExc_ValueError,
                     "level %R is not a level of codec '%s' (valid: %d..%d%s)",
                     obj, fc_codec_name(codec), lo, hi,
                     codec == FC_CODEC_ZSTD ? ", 0 = default 3"
                     : codec == FC_CODEC_LZ4 ? ", 0 = default fast"
                     : ", -1 = default 6");
        return -1;
    }
    if (codec == FC_CODEC_ZSTD && v == 0) {
        v = ZSTD_CLEVEL_DEFAULT;
    }
    else if (codec <= FC_CODEC_GZIP && v == -1) {
        v = 6;
    }
    *out = (int)v;
    return 0;
}

int
fc_parse_max_output(PyObject *obj, Py_ssize_t *out)
{
    if (obj == NULL || obj == Py_None) {
        *out = -1;
        return 0;
    }
    if (!PyLong_Check(obj) || PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "max_output_size must be an int or None, not '%.100s'",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow < 0 || (overflow == 0 && v < 0)) {
        PyErr_SetString(PyExc_ValueError,
                        "max_output_size must be >= 0 or None");
        return -1;
    }
    if (overflow > 0 || v > PY_SSIZE_T_MAX) {
        v = PY_SSIZE_T_MAX;
    }
    *out = (Py_ssize_t)v;
    return 0;
}

/* --- errors ------------------------------------------------------------ */

/* Raise DecompressionError "<codec>: <what> at offset N (<detail>)". */
static int
raise_decomp(fc_state *st, int codec, const char *what, const char *detail,
             int64_t offset)
{
    const char *name = fc_codec_name(codec);
    if (name == NULL) {
        name = "?";
    }
    if (offset >= 0 && detail) {
        PyErr_Format(st->DecompressionError, "%s: %s at offset %lld (%s)",
                     name, what, (long long)offset, detail);
    }
    else if (offset >= 0) {
        PyErr_Format(st->DecompressionError, "%s: %s at offset %lld", name,
                     what, (long long)offset);
    }
    else if (detail) {
        PyErr_Format(st->DecompressionError, "%s: %s (%s)", name, what,
                     detail);
    }
    else {
        PyErr_Format(st->DecompressionError, "%s: %s", name, what);
    }
    return -1;
}

int
fc_raise_truncated(fc_state *st, int codec, int64_t offset)
{
    return raise_decomp(st, codec, "truncated input: stream ends early",
                        NULL, offset);
}

int
fc_raise_output_size(fc_state *st, int codec, int64_t limit)
{
    const char *name = fc_codec_name(codec);
    PyErr_Format(st->OutputSizeError,
                 "%s: decompressed output exceeds max_output_size=%lld",
                 name ? name : "?", (long long)limit);
    return -1;
}

int
fc_raise_zlib(fc_state *st, int codec, int zrc, const char *zmsg,
              int64_t offset)
{
    switch (zrc) {
    case Z_MEM_ERROR:
        PyErr_NoMemory();
        return -1;
    case Z_BUF_ERROR:
        /* inflate could make no progress with all input consumed. */
        return raise_decomp(st, codec, "truncated input: stream ends early",
                            zmsg, offset);
    case Z_NEED_DICT:
        return raise_decomp(st, codec, "stream needs a preset dictionary",
                            zmsg, offset);
    case Z_DATA_ERROR:
        return raise_decomp(st, codec, "corrupt input", zmsg, offset);
    case Z_STREAM_ERROR:
        return raise_decomp(st, codec, "invalid stream state", zmsg, offset);
    case Z_VERSION_ERROR:
        PyErr_Format(PyExc_RuntimeError, "%s: zlib version mismatch",
                     fc_codec_name(codec));
        return -1;
    default:
        return raise_decomp(st, codec, "zlib error", zmsg ? zmsg : "unknown",
                            offset);
    }
}

int
fc_raise_zstd(fc_state *st, size_t code, int64_t offset)
{
    switch (ZSTD_getErrorCode(code)) {
    case ZSTD_error_memory_allocation:
        PyErr_NoMemory();
        return -1;
    case ZSTD_error_srcSize_wrong:
        return raise_decomp(st, FC_CODEC_ZSTD, "corrupt or truncated input",
                            ZSTD_getErrorName(code), offset);
    default:
        return raise_decomp(st, FC_CODEC_ZSTD, "corrupt input",
                            ZSTD_getErrorName(code), offset);
    }
}

int
fc_raise_lz4(fc_state *st, size_t code, int64_t offset)
{
    const char *name = LZ4F_getErrorName(code);
    if (name && strstr(name, "allocation")) {
        PyErr_NoMemory();
        return -1;
    }
    return raise_decomp(st, FC_CODEC_LZ4, "corrupt input", name, offset);
}

int
fc_raise_libdeflate(fc_state *st, int codec, int result, int64_t offset)
{
    /* 1 BAD_DATA, 2 SHORT_OUTPUT, 3 INSUFFICIENT_SPACE (libdeflate.h);
     * numbers used so this file builds without libdeflate. */
    switch (result) {
    case 1:
        return raise_decomp(st, codec, "corrupt or truncated input", NULL,
                            offset);
    case 2:
        return raise_decomp(st, codec, "input ends before the declared size",
                            NULL, offset);
    case 3:
        return raise_decomp(st, codec,
                            "output larger than the declared size", NULL,
                            offset);
    default:
        return raise_decomp(st, codec, "libdeflate error", NULL, offset);
    }
}

int
fc_raise_isal(fc_state *st, int codec, int rc, int64_t offset)
{
    /* isa-l inflate return codes (igzip_lib.h), by number so this file
     * builds without isa-l. */
    const char *detail;
    switch (rc) {
    case 1:
        return fc_raise_truncated(st, codec, offset);
    case 6:
        detail = "stream needs a preset dictionary";
        break;
    case -1:
        detail = "invalid block";
        break;
    case -2:
        detail = "invalid symbol";
        break;
    case -3:
        detail = "invalid distance too far back";
        break;
    case -4:
        detail = "invalid header";
        break;
    case -5:
        detail = "unsupported compression method";
        break;
    case -6:
        detail = "incorrect checksum";
        break;
    default:
        detail = "isa-l error";
        break;
    }
    return raise_decomp(st, codec, "corrupt input", detail, offset);
}

int
fc_codec_raise(fc_state *st, const fc_codec_err *e)
{
    switch (e->kind) {
    case FC_CERR_NONE:
        return 0;
    case FC_CERR_NOMEM:
        PyErr_NoMemory();
        return -1;
    case FC_CERR_TRUNCATED:
        return fc_raise_truncated(st, e->codec, e->offset);
    case FC_CERR_OUTPUT_SIZE:
        return fc_raise_output_size(st, e->codec, e->limit);
    case FC_CERR_ZLIB:
        return fc_raise_zlib(st, e->codec, (int)e->code, e->msg, e->offset);
    case FC_CERR_ZSTD:
        return fc_raise_zstd(st, (size_t)e->code, e->offset);
    case FC_CERR_LZ4:
        return fc_raise_lz4(st, (size_t)e->code, e->offset);
    case FC_CERR_LIBDEFLATE:
        return fc_raise_libdeflate(st, e->codec, (int)e->code, e->offset);
    case FC_CERR_ISAL:
        return fc_raise_isal(st, e->codec, (int)e->code, e->offset);
    case FC_CERR_COMPRESS:
        PyErr_Format(PyExc_RuntimeError, "%s: compression failed: %s",
                     fc_codec_name(e->codec), e->msg ? e->msg : "unknown");
        return -1;
    default:
        return raise_decomp(st, e->codec, "corrupt input", e->msg, e->offset);
    }
}
