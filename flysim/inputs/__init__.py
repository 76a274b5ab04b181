"""What goes into a run: odor panels, the ORN drive built from them and the noise, the wiring."""
