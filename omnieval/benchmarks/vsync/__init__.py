"""V-SYNC: audio-visual synchronisation ("when to speak") questions for omni models."""
