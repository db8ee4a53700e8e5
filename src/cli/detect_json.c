/*
** detect_json.c: fcn-detect's JSON for one image: the image, the options,
** each pyramid level and the detections (docs/detect.md).
*/
#include "detect_json.h"

static void level(cli_json *b, const fcn_detect_level *r, int first)
{
    const fcn_geometry *g = &r->geom;
    cli_json_printf(b, "%s\n  {\"scale\": %.6g, \"scale_x\": %.8g, "
                    "\"scale_y\": %.8g, \"width\": %d, \"height\": %d",
                    first ? "" : ",", r->lv.scale, r->lv.scale_x,
                    r->lv.scale_y, r->lv.width, r->lv.height);
    if (r->skipped) {
        cli_json_printf(b, ", \"skipped\": ");
        cli_json_str(b, r->skipped);
        cli_json_printf(b, "}");
        return;
    }
    cli_json_printf(b, ", \"stride\": [%d, %d], \"offset\": [%d, %d], "
                    "\"receptive_field\": [%d, %d], \"score_map\": [%d, %d],\n"
                    "   \"padded_cells\": {\"count\": %lld, \"rows_top\": %d, "
                    "\"rows_bottom\": %d, \"cols_left\": %d, \"cols_right\": "
                    "%d}, \"tiles\": %d, \"candidates\": %zu, \"seconds\": "
                    "%.3f}", g->stride_h, g->stride_w, g->offset_h,
                    g->offset_w, g->rf_h, g->rf_w, r->out_h, r->out_w,
                    r->pad.cells, r->pad.top, r->pad.bottom, r->pad.left,
                    r->pad.right, r->tiles, r->candidates, r->seconds);
}

void dj_image(cli_json *b, const fcn_model *m, const char *model_path,
              double threshold, double iou, const char *path, int w, int h,
              const fcn_detect_result *r, double seconds)
{
    fcn_model_info info;
    fcn_model_get_info(m, &info);
    char lb[32];
    cli_json_printf(b, "{\"image\": ");
    cli_json_str(b, path);
    cli_json_printf(b, ", \"width\": %d, \"height\": %d, \"model\": ", w, h);
    cli_json_str(b, model_path);
    cli_json_printf(b, ",\n \"threshold\": %.6g, \"iou\": %.6g, \"classes\": [",
                    threshold, iou);
    for (int k = 0, first = 1; k < info.classes; k++)
        if (r->classes[k]) {
            cli_json_printf(b, first ? "" : ", ");
            cli_json_str(b, cli_label(m, k, lb, sizeof lb));
            first = 0;
        }
    cli_json_printf(b, "], \"seconds\": %.3f,\n \"scales\": [", seconds);
    for (int k = 0; k < r->n_levels; k++)
        level(b, &r->levels[k], !k);
    cli_json_printf(b, "],\n \"detections\": [");
    for (size_t k = 0; k < r->n; k++) {
        const fcn_detection *d = &r->d[k];
        cli_json_printf(b, "%s\n  {\"label\": ", k ? "," : "");
        cli_json_str(b, cli_label(m, d->cls, lb, sizeof lb));
        cli_json_printf(b, ", \"class\": %d, \"score\": %.6g, \"box\": [%.8g, "
                        "%.8g, %.8g, %.8g], \"scale\": %.6g, \"cell\": [%d, "
                        "%d], \"padded\": %s}", d->cls, d->score, d->box.x,
                        d->box.y, d->box.w, d->box.h, d->scale, d->cell_i,
                        d->cell_j, d->padded ? "true" : "false");
    }
    cli_json_printf(b, "%s]}", r->n ? "\n " : "");
}

