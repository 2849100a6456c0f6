"""Native integrations with training frameworks: `runyard.integrations.lightning` and
`runyard.integrations.huggingface`. Each imports its framework when it is itself imported, never
before: `import runyard` stays light."""
