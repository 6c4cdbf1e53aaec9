"""`scipy.ndimage`, imported on first use: it costs ~0.3 s, and the GUI loads the tools at start-up."""


class _LazyNdimage:
    def __getattr__(self, name):
        from scipy import ndimage as real

        return getattr(real, name)


ndimage = _LazyNdimage()
