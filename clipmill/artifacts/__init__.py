"""One typed, versioned document per stage, stored and loaded through its contract.

`document` is their base (and where the contracts live), `stages` the documents (profile, speech,
silences, fillers, timelines, tracks, edit plan, framing; the manifest is `clipmill.manifest.Manifest`),
`store` their way in and out of the object store, `results` what a stage task returns and how the
manifest's ``stages`` are built from it. Import from the submodules: `document` is imported by the
manifest, so this package imports nothing heavy on its own.
"""
