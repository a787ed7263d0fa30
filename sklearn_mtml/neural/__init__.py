"""sklearn estimators that compose a skorch ``NeuralNet`` (imports torch)."""
