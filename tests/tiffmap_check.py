#!/usr/bin/python3
"""Independent checks of fcn's TIFF score maps and GeoJSON (tests/test_tiffmap.sh).

Readers: tifffile (every page, tiling, values) and GDAL (overviews,
GeoTransform, CRS); references computed here in NumPy. Each check prints
"PASS what" or "FAIL what"; the shell test counts them.

  tiffmap_check.py map TIFF MODE H W C CLASSES REF     REF: "formula" (the
      map test_tiffmap writes, recomputed here) or a .npy (C, H, W)
  tiffmap_check.py geo TIFF A0,..,A5 EPSG    GDAL's GeoTransform and CRS
  tiffmap_check.py make-geotiff PATH H W EPSG A0,..,A5 AREA|POINT
  tiffmap_check.py geojson FILE DETECTIONS.json A0,..,A5|pixel EPSG|0
"""
import json
import sys

import numpy as np

FAILED = []


def check(ok, what):
    print(("PASS " if ok else "FAIL ") + what)
    if not ok:
        FAILED.append(what)


def formula(c, h, w):
    out = np.empty((c, h, w), np.float32)
    ii = np.arange(h, dtype=np.int32)[:, None] * 31
    jj = np.arange(w, dtype=np.int32)[None, :] * 17
    for k in range(c):
        out[k] = ((k * 7919 + ii + jj) % 1000).astype(np.float32)
        out[k] /= np.float32(800)
        out[k] -= np.float32(0.1)
    return out


def u8(p):
    p = np.nan_to_num(p.astype(np.float32), nan=0.0)
    return np.rint(np.clip(p, 0, 1) * np.float32(255)).astype(np.uint8)


def level0(scores, mode, classes):
    """The expected first image, H x W x bands, from the (C, H, W) map."""
    sel = scores[classes]
    if mode == "float":
        return np.moveaxis(sel, 0, -1)
    if mode == "prob8":
        return np.moveaxis(u8(sel), 0, -1)
    best = np.argmax(sel, axis=0)  # the first of equal scores, as fcn
    cls = np.asarray(classes)[best]
    conf = u8(np.take_along_axis(sel, best[None], 0)[0])
    dt = np.uint16 if scores.shape[0] > 256 else np.uint8
    return np.stack([cls.astype(dt), conf.astype(dt)], axis=-1)


def reduce(a, mode):
    """The next level: 2x2 means (float32 as fcn adds them; uint8 rounded
    half up over the cells that exist), or the top-left cell (argmax)."""
    if mode == "argmax":
        return a[::2, ::2]
    h, w = a.shape[:2]
    H, W = (h + 1) // 2, (w + 1) // 2
    if mode == "float":
        q = np.zeros((2 * H, 2 * W) + a.shape[2:], np.float32)
        q[:h, :w] = a
        v0, v1 = q[0::2, 0::2], q[0::2, 1::2]
        v2, v3 = q[1::2, 0::2], q[1::2, 1::2]
        out = ((v0 + v1) + (v2 + v3)) * np.float32(0.25)
        if w % 2:  # last column: one cell across
            out[:, -1] = (v0[:, -1] + v2[:, -1]) * np.float32(0.5)
        if h % 2:
            out[-1, :] = (v0[-1, :] + v1[-1, :]) * np.float32(0.5)
        if w % 2 and h % 2:
            out[-1, -1] = v0[-1, -1]
        return out
    q = np.zeros((2 * H, 2 * W) + a.shape[2:], np.int64)
    n = np.zeros((2 * H, 2 * W), np.int64)
    q[:h, :w] = a
    n[:h, :w] = 1
    s = q[0::2, 0::2] + q[0::2, 1::2] + q[1::2, 0::2] + q[1::2, 1::2]
    c = (n[0::2, 0::2] + n[0::2, 1::2] + n[1::2, 0::2] + n[1::2, 1::2])
    c = c.reshape(c.shape + (1,) * (a.ndim - 2))
    return ((s + c // 2) // c).astype(a.dtype)


def check_map(path, mode, h, w, c, classes, ref):
    import tifffile
    from osgeo import gdal
    scores = formula(c, h, w) if ref == "formula" else np.load(ref)
    if ref != "formula" and h == 0:  # the .npy's shape
        c, h, w = scores.shape
    check(scores.shape == (c, h, w), f"{path}: reference shape {scores.shape}")
    classes = list(range(c)) if classes == "all" else \
        [int(x) for x in classes.split(",")]
    want = level0(scores, mode, classes)
    with tifffile.TiffFile(path) as t:
        check(t.is_bigtiff, f"{path}: BigTIFF")
        pages = list(t.pages)
        sizes, (ph, pw) = [], (h, w)
        while True:
            sizes.append((ph, pw))
            if ph <= pages[0].tilelength and pw <= pages[0].tilewidth:
                break
            ph, pw = (ph + 1) // 2, (pw + 1) // 2
        check([p.shape[:2] for p in pages] == sizes,
              f"{path}: levels {[p.shape[:2] for p in pages]} == {sizes}")
        check(all(p.is_tiled for p in pages), f"{path}: every level tiled")
        check(all(int(p.subfiletype) == (k > 0) for k, p in enumerate(pages)),
              f"{path}: NewSubfileType 0, then 1 (reduced) for each level")
        prev = None
        for k, p in enumerate(pages):
            a = p.asarray()
            if a.ndim == 2:
                a = a[:, :, None]
            if k == 0:
                check(a.dtype == want.dtype and np.array_equal(a, want),
                      f"{path}: level 0 ({a.dtype}, {a.shape}) equals the "
                      f"reference ({want.dtype}, {want.shape})")
            else:
                r = reduce(prev, mode)
                check(a.shape == r.shape and np.array_equal(a, r),
                      f"{path}: level {k} is the {'top-left cell' if mode == 'argmax' else '2x2 mean'}"
                      f" of level {k - 1} (max diff "
                      f"{np.abs(a.astype(np.float64) - r).max() if a.shape == r.shape else 'shape'})")
            prev = a
    ds = gdal.Open(path)
    check(ds is not None and ds.RasterCount == want.shape[2] and
          ds.GetRasterBand(1).GetOverviewCount() == len(sizes) - 1,
          f"{path}: GDAL opens it with {want.shape[2]} bands and "
          f"{len(sizes) - 1} overviews")
    if ds is not None:
        b = ds.GetRasterBand(ds.RasterCount).ReadAsArray()
        check(np.array_equal(b, want[:, :, -1]),
              f"{path}: GDAL's last band equals the reference")
        bx, by = ds.GetRasterBand(1).GetBlockSize()
        check(bx == by == pages[0].tilewidth, f"{path}: GDAL block {bx}x{by}")


def check_geo(path, affine, epsg):
    from osgeo import gdal, osr
    ds = gdal.Open(path)
    gt = ds.GetGeoTransform(can_return_null=True)
    want = [float(x) for x in affine.split(",")]
    check(gt is not None and np.allclose(gt, want, rtol=0, atol=1e-6),
          f"{path}: GeoTransform {gt} == {want}")
    srs = osr.SpatialReference(wkt=ds.GetProjection()) if ds.GetProjection() \
        else None
    if srs is not None:
        srs.AutoIdentifyEPSG()
    code = srs.GetAuthorityCode(None) if srs is not None else None
    check(str(code) == str(epsg), f"{path}: CRS EPSG:{code} == EPSG:{epsg}")
    md = ds.GetMetadataItem("AREA_OR_POINT")
    check(md in (None, "Area"), f"{path}: AREA_OR_POINT {md} (Area)")


def make_geotiff(path, h, w, epsg, affine, area):
    from osgeo import gdal, osr
    drv = gdal.GetDriverByName("GTiff")
    ds = drv.Create(path, w, h, 3, gdal.GDT_Byte)
    ds.SetGeoTransform([float(x) for x in affine.split(",")])
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    ds.SetProjection(srs.ExportToWkt())
    if area == "POINT":
        ds.SetMetadataItem("AREA_OR_POINT", "Point")
    rng = np.random.default_rng(7)
    for b in range(3):
        ds.GetRasterBand(b + 1).WriteArray(
            rng.integers(0, 256, (h, w), dtype=np.uint8))
    ds = None


def check_geojson(path, dets_path, affine, epsg):
    gj = json.load(open(path))
    dets = json.load(open(dets_path))
    boxes = dets["detections"]
    check(gj.get("type") == "FeatureCollection" and
          len(gj.get("features", [])) == len(boxes) > 0,
          f"{path}: a FeatureCollection of {len(boxes)} boxes")
    a = None if affine == "pixel" else [float(x) for x in affine.split(",")]

    def model(x, y):
        if a is None:
            return (x, y)
        return (a[0] + x * a[1] + y * a[2], a[3] + x * a[4] + y * a[5])

    # the JSON's boxes have 8 significant digits: 1e-5 pixel
    tol = 1e-5 * max([1.0] + ([abs(v) for v in a[1:3] + a[4:6]] if a else []))
    bad = 0
    for f, d in zip(gj.get("features", []), boxes):
        x, y, w, h = d["box"]
        corners = [model(x, y), model(x + w, y), model(x + w, y + h),
                   model(x, y + h), model(x, y)]
        ring = np.array(f["geometry"]["coordinates"][0], np.float64)
        # RFC 7946: exterior rings counterclockwise (positive area)
        area = np.sum(ring[:-1, 0] * ring[1:, 1] - ring[1:, 0] * ring[:-1, 1])
        ok = (f["type"] == "Feature" and f["geometry"]["type"] == "Polygon"
              and ring.shape == (5, 2) and area > 0 and
              (np.allclose(ring, corners, rtol=0, atol=tol) or
               np.allclose(ring, corners[::-1], rtol=0, atol=tol))
              and f["properties"]["class"] == d["class"]
              and f["properties"]["label"] == d["label"]
              and abs(f["properties"]["score"] - d["score"]) < 1e-6)
        bad += not ok
    check(bad == 0, f"{path}: every polygon's corners (counterclockwise) and "
          f"properties match the detection mapped ({bad} wrong)")
    crs = gj.get("crs")
    if int(epsg) and int(epsg) != 4326:
        check(crs is not None and crs["properties"]["name"] ==
              f"urn:ogc:def:crs:EPSG::{epsg}",
              f"{path}: crs member names EPSG:{epsg}: {crs}")
    else:
        check(crs is None, f"{path}: no crs member (pixels or WGS 84)")
    from osgeo import ogr
    ds = ogr.Open(path)
    lay = ds.GetLayer(0) if ds is not None else None
    check(lay is not None and lay.GetFeatureCount() == len(boxes),
          f"{path}: OGR reads {len(boxes)} features")
    if lay is not None and int(epsg):
        srs = lay.GetSpatialRef()
        code = srs.GetAuthorityCode(None) if srs is not None else None
        check(str(code) == str(epsg), f"{path}: OGR's CRS EPSG:{code}")


def main(argv):
    cmd = argv[1]
    if cmd == "map":
        check_map(argv[2], argv[3], int(argv[4]), int(argv[5]), int(argv[6]),
                  argv[7], argv[8])
    elif cmd == "geo":
        check_geo(argv[2], argv[3], argv[4])
    elif cmd == "make-geotiff":
        make_geotiff(argv[2], int(argv[3]), int(argv[4]), int(argv[5]),
                     argv[6], argv[7])
    elif cmd == "geojson":
        check_geojson(argv[2], argv[3], argv[4], argv[5])
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
