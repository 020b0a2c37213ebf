"""The demo: writes changes into the demo tables and shows them flowing to the simulators."""
