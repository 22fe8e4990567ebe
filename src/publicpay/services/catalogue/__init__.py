"""The fee catalogue (收费项目与标准) and the items each unit may charge."""
