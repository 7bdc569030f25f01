"""The WGAN critic and the Coulomb potential cover what their plot shows: told the visible rectangle
(the "view_rect" edit), the methods evaluate their field over it, and so does the field helper's
instance given field_state(). The views' side: test_heatmap_extent_views.py."""
import math

import numpy as np
import pytest
import torch

from otviz.methods.coulomb import EXTENT, CoulombConfig, CoulombMethod
from otviz.methods.heat_extent import MARGIN
from otviz.methods.wgan import WGANConfig, WGANMethod

RES = 24

METHODS = {
    "wgan": (lambda: WGANMethod(WGANConfig(width=16, batch_size=32, n_points=1000, n_show=200,
                                           heatmap_res=RES), seed=0),
             "field", "field_rect"),
    "coulomb": (lambda: CoulombMethod(CoulombConfig(samples_per_mode=100, batch_size=64, n_show=300,
                                                    heatmap_res=RES, gmm_every=0), seed=0),
                "potential", "potential_rect"),
}


def trained(name: str, steps: int = 2):
    make, _, _ = METHODS[name]
    m = make()
    for _ in range(steps):
        m.step()
    return m


def net_at_pixel_centres(net, rect, shape):
    """The network at the centres of a (rows, columns) image over rect, computed here on its own."""
    x0, y0, w, h = rect
    ny, nx = shape
    xs = x0 + (np.arange(nx) + 0.5) * (w / nx)
    ys = y0 + (np.arange(ny) + 0.5) * (h / ny)
    gx, gy = np.meshgrid(xs, ys)                    # rows are y, columns x
    pts = torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32)
    with torch.no_grad():
        return net(pts).reshape(ny, nx).numpy().astype(np.float64)


def assert_covers(field_rect, shape, view, res):
    """field_rect holds the view, is no more than the margin and a pixel larger on any side, has square
    pixels, and as many of them as a res × res square (to a row's rounding)."""
    fx, fy, fw, fh = field_rect
    x0, y0, w, h = view
    ny, nx = shape
    px, py = fw / nx, fh / ny
    assert px == pytest.approx(py, rel=1e-9)                                  # square pixels
    assert abs(nx * ny - res * res) <= 2 * res
    assert fx <= x0 and fy <= y0 and fx + fw >= x0 + w and fy + fh >= y0 + h
    assert x0 - fx <= MARGIN * w + px and (fx + fw) - (x0 + w) <= MARGIN * w + px
    assert y0 - fy <= MARGIN * h + py and (fy + fh) - (y0 + h) <= MARGIN * h + py
    # centred on the view
    assert fx + fw / 2 == pytest.approx(x0 + w / 2) and fy + fh / 2 == pytest.approx(y0 + h / 2)


# ----------------------------------------------------------------------------- the methods

@pytest.mark.parametrize("name", sorted(METHODS))
@pytest.mark.parametrize("view", [(-3.0, -1.0, 5.0, 2.5), (10.0, 20.0, 1.0, 3.0), (-40.0, -40.0, 80.0, 80.0)])
def test_fields_cover_the_view_rect_and_a_helper_computes_the_same(name, view):
    _, key, rect_key = METHODS[name]
    m = trained(name)
    before = m.compute_fields()
    m.edit("view_rect", view)
    mine = m.compute_fields()
    rect, img = mine[rect_key], mine[key]
    assert rect != before[rect_key]
    assert_covers(rect, img.shape, view, RES)
    # the field is evaluated over that rectangle, not only labelled with it
    want = net_at_pixel_centres(m.D, rect, img.shape)
    if name == "wgan":
        want -= want.mean()                                    # the critic is drawn as f − mean
    np.testing.assert_allclose(img, want, rtol=1e-4, atol=1e-4 * (1 + np.abs(want).max()))
    # the field helper's instance, never trained, given field_state(): the same rectangle and field
    helper = METHODS[name][0]()
    helper.load_field_state(m.field_state())
    theirs = helper.compute_fields()
    assert theirs[rect_key] == rect
    np.testing.assert_allclose(theirs[key], img, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_without_a_view_the_default_extent_stays(name):
    _, key, rect_key = METHODS[name]
    m = trained(name, 1)
    f = m.compute_fields()
    default = m.rect if name == "wgan" else (-EXTENT, -EXTENT, 2 * EXTENT, 2 * EXTENT)
    assert f[rect_key] == default and f[key].shape == (RES, RES)
    helper = METHODS[name][0]()
    helper.edit("view_rect", (0.0, 0.0, 1.0, 1.0))            # an instance told a view earlier...
    helper.load_field_state(m.field_state())                  # ...takes the state's (none) instead
    assert helper.compute_fields()[rect_key] == default


@pytest.mark.parametrize("name", sorted(METHODS))
def test_a_reset_keeps_the_view(name):
    _, key, rect_key = METHODS[name]
    m = trained(name, 1)
    view = (-2.0, -2.0, 6.0, 3.0)
    m.edit("view_rect", view)
    m.reset(seed=1)                                            # the window did not move
    f = m.compute_fields()
    assert_covers(f[rect_key], f[key].shape, view, RES)


@pytest.mark.parametrize("name", sorted(METHODS))
@pytest.mark.parametrize("payload", [
    (0.0, 0.0, 0.0, 1.0), (0.0, 0.0, 1.0, -2.0), (math.nan, 0.0, 1.0, 1.0), (0.0, 0.0, math.inf, 1.0),
    (0.0, 0.0, 1e308, 1.0), (0.0, 0.0, 1.0), (0.0, 0.0, 1.0, 1.0, 1.0), None, "abcd", ("a", 0, 1, 1),
])
def test_a_bad_view_rect_is_refused_with_the_reason(name, payload):
    _, _, rect_key = METHODS[name]
    m = trained(name, 1)
    m.edit("view_rect", (0.0, 0.0, 2.0, 2.0))
    before = m.compute_fields()[rect_key]
    with pytest.raises(ValueError, match="view_rect needs"):
        m.edit("view_rect", payload)
    assert m.compute_fields()[rect_key] == before              # the last good view stays


def test_wgan_keeps_its_data_box_and_its_slope_estimate_when_zoomed_out():
    m = trained("wgan", 3)
    rect, snap = m.rect, m.snapshot()
    x0, y0, w, h = rect
    m.edit("view_rect", (x0 - w / 2, y0 - h / 2, 2 * w, 2 * h))     # zoomed out around the data
    zoomed = m.snapshot()
    assert m.rect == rect and zoomed.rect == rect                 # the arrows keep their scale
    assert zoomed.arrow_scale == snap.arrow_scale
    # the steepest slope is still measured over the data box, not the empty space around it
    c = (np.arange(64) + 0.5) / 64
    grid = np.stack(np.meshgrid(x0 + w * c, y0 + h * c), -1).reshape(-1, 2)
    x = torch.as_tensor(grid, dtype=torch.float32).requires_grad_(True)
    (g,) = torch.autograd.grad(m.D(x).sum(), x)
    exact = g.norm(dim=1).max().item()
    assert 0.7 * exact <= zoomed.lipschitz <= 1.01 * exact
