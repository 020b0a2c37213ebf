"""The chain's stages as plain functions: validate → transform → persist (push: syncsvc.push)."""
