"""Terrain bands for one full scene: rts_seg.terrain.terrain_bands over a --size² px grid at 3 m from a 10 m mosaic.

An ArcticDEM-like mosaic (EPSG:3413, float32, nodata -9999, 2×2 GeoTIFF tiles and a VRT, a few voids) is written to a
temporary folder, larger than the scene by a kilometre on each side and `--dem-margin-km` more, so the scene reads a
window, not the whole mosaic. The scene grid is EPSG:3413 (`--crs` to warp into another, e.g. EPSG:32608). Printed: the
mosaic's size, the DEM window read, the time of `terrain_bands` for the default bands and for all four DEM bands, and
the peak memory: numpy's allocations by tracemalloc (GDAL's own buffers are not seen there) and the process's peak
RSS (resource.getrusage) after the imports and after the runs. Figures, not a test.
Usage: python bench/terrain_throughput.py [--size 4000] [--radius 100] [--dem-margin-km 5] [--crs EPSG:3413]
"""
import argparse, resource, shutil, tempfile, time, tracemalloc
from pathlib import Path
import numpy as np, rasterio
from rasterio.crs import CRS
from rasterio.transform import from_origin
from pyproj import Transformer
from rts_seg.scenes import SceneInfo
from rts_seg.terrain import TerrainSettings, dem_window, terrain_bands, write_dem_mosaic

def peak_rss_mb() -> float: return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KB on Linux

def timed(dem: Path, grid: SceneInfo, settings: TerrainSettings) -> tuple[float, float, np.ndarray]:
    "Seconds and tracemalloc peak (MB) of one terrain_bands call, and its bands"
    tracemalloc.start(); t0 = time.perf_counter()
    bands, _ = terrain_bands(dem, grid, settings)
    s = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2 ** 20; tracemalloc.stop()
    return s, peak, bands

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--size', type=int, default=4000); ap.add_argument('--radius', type=float, default=100.)
    ap.add_argument('--dem-margin-km', type=float, default=5.); ap.add_argument('--crs', default='EPSG:3413')
    a = ap.parse_args()
    rss_imports = peak_rss_mb()
    x0, y0 = (round(v, -3) for v in Transformer.from_crs('EPSG:4326', 'EPSG:3413', always_xy=True).transform(-135.2, 67.35))
    half = a.size * 3 / 2 + 1000 + a.dem_margin_km * 1000
    def elevation(x, y):
        return (400 + 0.01 * (x - x0) + 40 * np.sin(2 * np.pi * (x - x0) / 3000) * np.cos(2 * np.pi * (y - y0) / 4500)
                + 3 * np.sin(2 * np.pi * (x + y) / 230))
    tmp = Path(tempfile.mkdtemp())
    try:
        t0 = time.perf_counter()
        voids = [(x0 + dx, y0 + dy, x0 + dx + 200, y0 + dy + 120) for dx, dy in [(-2000, 1500), (1000, -3000), (2500, 2500)]]
        dem = write_dem_mosaic(tmp, elevation, (x0 - half, y0 - half, x0 + half, y0 + half), voids=voids)
        t_write = time.perf_counter() - t0
        cx, cy = Transformer.from_crs('EPSG:3413', a.crs, always_xy=True).transform(x0, y0)
        grid = SceneInfo(Path('scene.tif'), CRS.from_user_input(a.crs), from_origin(round(cx - a.size * 1.5), round(cy + a.size * 1.5), 3, 3),
                         (a.size, a.size), 3, None)
        with rasterio.open(dem) as ds:
            b = TerrainSettings(bands=('rel_elevation', 'slope'), tpi_radius_m=a.radius).buffer_px(3.)
            win = dem_window(ds, grid.crs, grid.transform * rasterio.Affine.translation(-b, -b), (a.size + 2 * b, a.size + 2 * b))
            mosaic = (ds.width, ds.height)
        print(f"scene {a.size}² px at 3 m in {a.crs} ({a.size * 3 / 1000:.0f} km across); TPI radius {a.radius:g} m, buffer {b} px")
        print(f"{'mosaic (10 m, 2×2 tiles + VRT)':<40}{mosaic[0]}×{mosaic[1]} px, {mosaic[0] * mosaic[1] * 4 / 2 ** 20:.0f} MB as float32 "
              f"(written in {t_write:.1f} s)")
        print(f"{'DEM window read':<40}{win.width}×{win.height} px, {win.width * win.height * 4 / 2 ** 20:.0f} MB as float32")
        for bands in [('rel_elevation', 'slope'), ('rel_elevation', 'slope', 'aspect', 'hillshade')]:
            s, peak, out = timed(dem, grid, TerrainSettings(bands=bands, tpi_radius_m=a.radius))
            print(f"{'+'.join(bands):<40}{s:>6.1f} s  {a.size ** 2 / s / 1e6:.1f} M px/s; tracemalloc peak {peak:,.0f} MB "
                  f"(output {out.nbytes / 2 ** 20:.0f} MB); NaN {np.isnan(out).mean():.2%}")
        print(f"{'peak RSS after imports / after the runs':<40}{rss_imports:.0f} / {peak_rss_mb():.0f} MB")
    finally: shutil.rmtree(tmp, ignore_errors=True)

if __name__ == '__main__': main()
