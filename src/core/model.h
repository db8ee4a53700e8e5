/*
** model.h: the loaded model (struct fcn_model), shared by the core's
** modules: the converted network in execution order, its geometry, and
** what the front ends are told about it.
*/
#ifndef FCN_CORE_MODEL_H
#define FCN_CORE_MODEL_H

#include "io/image.h"
#include "core/reader.h"
#include "ops/op.h"

struct fcn_model {
    arena ar;               /* nodes, params, strings */
    void *file;             /* model.bin: mapped, or an owned copy */
    size_t file_size;
    int file_mapped;        /* 1: munmap it; 0: mem_free it */
    int in_c, in_h, in_w;   /* the trained input size */
    int classes;
    img_prep prep;          /* preprocessing of 8-bit images */
    img_filter resize;
    int64_t max_pixels;     /* of images decoded or resized for it */
    const char *name;
    int n_labels;
    const char **labels;
    int n_file_layers;
    int n_nodes;            /* the converted network, in execution order */
    node *nodes;
    int n_tensors;          /* tensor ids 0..n_tensors-1; 0 = input; node
                               i produces tensor i + 1 */
    int out_tensor;
    fcn_geometry geom;      /* of the output */
    int min_h, min_w;
    size_t weight_bytes;
    int blas;               /* some op's forward calls OpenBLAS */
    char *summary;
};

/* ---- graph.c ---- */

/* Nodes from the layer records (each op's parse; inputs by name, the
** graph input named input_name): rd->n_layers nodes into nodes, node i
** producing tensor i + 1. On failure the nodes parsed so far are in
** nodes[0 .. *n_parsed) for node_release. */
fcn_status graph_nodes(const rd_model *rd, const char *input_name,
                       arena *ar, node *nodes, int *n_parsed);
/* Node n from layer record L (its op, name, param through the op's parse,
** checked for unknown attributes), but for its inputs and output. */
fcn_status node_parse(const layer *L, node *n, arena *ar);
/* Shapes of every tensor for an input shape; with check_size, maps over
** 4x the input's + 2^20 pixels fail too, and (check_size 1, not 2) outputs
** of over 2^34 floats.
** Messages name the node and the sizes. */
fcn_status graph_infer(const node *nodes, int n_nodes, shape input,
                       shape *shapes, int check_size);
/* The same for the converted model and an input of h x w (check_size 2:
** the planner's, which a region session's tensors pass however large the
** image), with a message saying the smallest input where that is why it
** fails. */
fcn_status graph_infer_size(const fcn_model *m, int h, int w, shape *shapes);
/* Whether a whole-image session of h x w may be planned: every tensor
** within 2^34 floats too (check_size 1). */
fcn_status graph_check_tensors(const fcn_model *m, int h, int w);
/* Free what node n owns (its op's release). */
void node_release(node *n);

/* ---- pass_fcn.c, pass_fold.c: the load-time rewrites ---- */

/* The FCN conversion (docs/conversion.md), every node's to_fcn in order,
** given the shapes of the graph as read at the trained size; converted
** receives the converted network's shapes at the trained size. */
fcn_status pass_fcn(node *nodes, int n_nodes, const shape *trained,
                    const fcn_options *opt, arena *ar, shape *converted);
/* Drop removed nodes (aliases), fold BatchNorms and fuse activations into
** their producers, and compact the nodes into m (tensors renumbered;
** shapes follow the renumbering). out_t: the output tensor. */
fcn_status pass_fold(fcn_model *m, node *nodes, int n_nodes, int out_t,
                     shape *shapes);

/* ---- pass_atrous.c ---- */

/* The a-trous rewrite of the converted network for a score map K times
** finer than its stride (fcn_options.stride_divisor; K 0 or 1: nothing):
** FCN_ERR_ARG when K is out of range or does not divide the stride.
** shapes (n_tensors) receives the rewritten network's at the trained
** size. */
fcn_status pass_atrous(fcn_model *m, int K, shape *shapes);

/* ---- geometry.c ---- */

/* The output's stride, offset and receptive field (m->geom), and the
** smallest input (m->min_h, m->min_w); shapes: scratch, n_tensors. */
fcn_status geom_compute(fcn_model *m, shape *shapes);

/* ---- meta.c ---- */

/* The model's metadata (input shape, preprocessing, name) into m; the
** name of the graph input into *input_name. */
fcn_status meta_parse(const rd_model *rd, fcn_model *m,
                      const char **input_name);
/* fcn_options.prep over the model's preprocessing (copied into its arena);
** FCN_ERR_ARG for a value out of range. */
fcn_status meta_override(fcn_model *m, const fcn_preprocess *p);

#endif
