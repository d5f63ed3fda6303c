"""The official calendar (法定节假日与调休), its administration and the legal deadlines on it."""
