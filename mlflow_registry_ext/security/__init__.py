"""Security of model artifacts: scanning a version's files for code that runs on load, the
recorded reports the ``require.security_scan`` policy judges, and the version's declared
dependencies as a CycloneDX BOM.

Scanners come from the ``security`` extra (modelscan, or picklescan where modelscan does not
install); nothing here needs them until a scan runs.
"""
