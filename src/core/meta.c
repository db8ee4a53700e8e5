/*
** meta.c: the model's metadata section (docs/model-format.md): the trained
** input shape, the name of the graph input, preprocessing and a name.
*/
#include <math.h>
#include <string.h>

#include "core/model.h"
#include "util/err.h"

/* mean and std: one value, or one per channel. */
static fcn_status channel_floats(const layer *L, const char *key, int c,
                                 float *dst)
{
    const layer_attr *a = attr_find(L, key);
    if (!a)
        return FCN_OK;
    if (a->type != 'f' || (a->n != 1 && a->n != (uint32_t)c))
        return err_set(FCN_ERR_FORMAT, "model.bin: '%s' needs 1 or %d floats",
                       key, c);
    for (int i = 0; i < c; i++)
        dst[i] = a->fv[a->n == 1 ? 0 : i];
    return FCN_OK;
}

static fcn_status check_prep(fcn_model *m, const char *color,
                             const char *resize)
{
    if (!img_color_parse(color, &m->prep.color))
        return err_set(FCN_ERR_FORMAT, "model.bin: color '%s' (expected rgb, "
                       "bgr or gray)", color);
    const int gray = m->prep.color == IMG_GRAY;
    if ((gray && m->in_c != 1) || (!gray && m->in_c != 3))
        return err_set(FCN_ERR_FORMAT, "model.bin: color '%s' does not match "
                       "%d input channels", color, m->in_c);
    if (!img_filter_parse(resize, &m->resize))
        return err_set(FCN_ERR_FORMAT, "model.bin: resize '%s' (expected "
                       "bilinear or area)", resize);
    return FCN_OK;
}

fcn_status meta_parse(const rd_model *rd, fcn_model *m,
                      const char **input_name)
{
    layer meta = {"model", "metadata", NULL, 0, NULL, rd->meta, 0, NULL};
    op_parse c = {&meta, &m->ar, FCN_OK};
    int s[3] = {0, 0, 0};
    attr_ints(&c, "input_shape", 3, s, 1);
    if (c.st)
        return c.st;
    if (s[0] < 1 || s[1] < 1 || s[2] < 1 || s[0] > 4096 || s[1] > 65536 ||
        s[2] > 65536)
        return err_set(FCN_ERR_FORMAT, "model.bin: trained input shape "
                       "%dx%dx%d is impossible", s[0], s[1], s[2]);
    m->in_c = s[0];
    m->in_h = s[1];
    m->in_w = s[2];
    *input_name = attr_str(&c, "input", "input");
    const char *color = attr_str(&c, "color", s[0] == 1 ? "gray" : "rgb");
    const char *resize = attr_str(&c, "resize", "bilinear");
    m->prep.scale = attr_float(&c, "scale", 1.0f / 255.0f);
    const char *name = attr_str(&c, "name", "");
    fcn_status st;
    if (c.st)
        return c.st;
    if ((st = check_prep(m, color, resize)))
        return st;
    float *mean = arena_alloc(&m->ar, sizeof(float) * m->in_c);
    float *std = arena_alloc(&m->ar, sizeof(float) * m->in_c);
    m->name = arena_strdup(&m->ar, name, strlen(name));
    if (!m->name || !mean || !std)
        return err_set(FCN_ERR_NOMEM, "out of memory");
    for (int i = 0; i < m->in_c; i++)
        std[i] = 1.0f;
    if ((st = channel_floats(&meta, "mean", m->in_c, mean)) ||
        (st = channel_floats(&meta, "std", m->in_c, std)))
        return st;
    for (int i = 0; i < m->in_c; i++)
        if (!isfinite(mean[i]) || !(std[i] != 0) || !isfinite(std[i]))
            return err_set(FCN_ERR_FORMAT, "model.bin: mean/std of channel %d "
                           "is not usable", i);
    if (!isfinite(m->prep.scale) || m->prep.scale == 0)
        return err_set(FCN_ERR_FORMAT, "model.bin: scale %g is not usable",
                       m->prep.scale);
    m->prep.c = m->in_c;
    m->prep.mean = mean;
    m->prep.std = std;
    return FCN_OK;
}

/* n floats of an override into the arena, each finite (and > 0: std). */
static fcn_status override_floats(fcn_model *m, const float *v,
                                  const char *key, int positive,
                                  const float **dst)
{
    if (!v)
        return FCN_OK;
    for (int i = 0; i < m->in_c; i++)
        if (!isfinite(v[i]) || (positive && !(v[i] > 0)))
            return err_set(FCN_ERR_ARG, "fcn_options.prep.%s[%d] = %g is "
                           "not usable (%s)", key, i, v[i],
                           positive ? "finite and > 0" : "finite");
    float *c = arena_alloc(&m->ar, sizeof(float) * m->in_c);
    if (!c)
        return err_set(FCN_ERR_NOMEM, "out of memory");
    memcpy(c, v, sizeof(float) * m->in_c);
    *dst = c;
    return FCN_OK;
}

fcn_status meta_override(fcn_model *m, const fcn_preprocess *p)
{
    if (p->color) {
        img_color c;
        const int gray = m->in_c == 1;
        if (!img_color_parse(p->color, &c) || gray != (c == IMG_GRAY))
            return err_set(FCN_ERR_ARG, "fcn_options.prep.color '%s': "
                           "expected %s for this %d-channel model",
                           p->color, gray ? "gray" : "rgb or bgr", m->in_c);
        m->prep.color = c;
    }
    if (p->scale != 0) {
        if (!isfinite(p->scale))
            return err_set(FCN_ERR_ARG, "fcn_options.prep.scale %g is not "
                           "usable", p->scale);
        m->prep.scale = p->scale;
    }
    fcn_status st;
    if ((st = override_floats(m, p->mean, "mean", 0, &m->prep.mean)) ||
        (st = override_floats(m, p->std, "std", 1, &m->prep.std)))
        return st;
    return FCN_OK;
}
