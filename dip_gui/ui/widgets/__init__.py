"""The window's widgets: image view with mask painting, plot, task panel, timeline strip, dialogs."""
