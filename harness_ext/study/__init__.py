"""Decomposer x solver x task grids: the study file, the grid runner, cost and the leaderboard."""
