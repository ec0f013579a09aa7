"""The CV builder's and the cover-letter builder's pages (blueprints `cv` and `letter`)."""
