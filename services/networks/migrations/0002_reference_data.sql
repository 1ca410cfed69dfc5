-- Reference data: the 21 wellbeing services counties and Helsinki, and the four programmes.
INSERT INTO regions (slug, name_fi, name_sv, name_en, organiser_fi, organiser_sv, position) VALUES
	('helsinki', 'Helsinki', 'Helsingfors', 'Helsinki', 'Helsingin kaupunki', 'Helsingfors stad', 1),
	('ita-uusimaa', 'Itä-Uusimaa', 'Östra Nyland', 'Eastern Uusimaa', 'Itä-Uudenmaan hyvinvointialue', 'Östra Nylands välfärdsområde', 2),
	('keski-uusimaa', 'Keski-Uusimaa', 'Mellersta Nyland', 'Central Uusimaa', 'Keski-Uudenmaan hyvinvointialue', 'Mellersta Nylands välfärdsområde', 3),
	('lansi-uusimaa', 'Länsi-Uusimaa', 'Västra Nyland', 'Western Uusimaa', 'Länsi-Uudenmaan hyvinvointialue', 'Västra Nylands välfärdsområde', 4),
	('vantaa-kerava', 'Vantaa ja Kerava', 'Vanda och Kervo', 'Vantaa and Kerava', 'Vantaan ja Keravan hyvinvointialue', 'Vanda och Kervo välfärdsområde', 5),
	('varsinais-suomi', 'Varsinais-Suomi', 'Egentliga Finland', 'Southwest Finland', 'Varsinais-Suomen hyvinvointialue', 'Egentliga Finlands välfärdsområde', 6),
	('satakunta', 'Satakunta', 'Satakunta', 'Satakunta', 'Satakunnan hyvinvointialue', 'Satakunta välfärdsområde', 7),
	('kanta-hame', 'Kanta-Häme', 'Egentliga Tavastland', 'Kanta-Häme', 'Kanta-Hämeen hyvinvointialue', 'Egentliga Tavastlands välfärdsområde', 8),
	('pirkanmaa', 'Pirkanmaa', 'Birkaland', 'Pirkanmaa', 'Pirkanmaan hyvinvointialue', 'Birkalands välfärdsområde', 9),
	('paijat-hame', 'Päijät-Häme', 'Päijänne-Tavastland', 'Päijät-Häme', 'Päijät-Hämeen hyvinvointialue', 'Päijänne-Tavastlands välfärdsområde', 10),
	('kymenlaakso', 'Kymenlaakso', 'Kymmenedalen', 'Kymenlaakso', 'Kymenlaakson hyvinvointialue', 'Kymmenedalens välfärdsområde', 11),
	('etela-karjala', 'Etelä-Karjala', 'Södra Karelen', 'South Karelia', 'Etelä-Karjalan hyvinvointialue', 'Södra Karelens välfärdsområde', 12),
	('etela-savo', 'Etelä-Savo', 'Södra Savolax', 'South Savo', 'Etelä-Savon hyvinvointialue', 'Södra Savolax välfärdsområde', 13),
	('pohjois-savo', 'Pohjois-Savo', 'Norra Savolax', 'North Savo', 'Pohjois-Savon hyvinvointialue', 'Norra Savolax välfärdsområde', 14),
	('pohjois-karjala', 'Pohjois-Karjala', 'Norra Karelen', 'North Karelia', 'Pohjois-Karjalan hyvinvointialue', 'Norra Karelens välfärdsområde', 15),
	('keski-suomi', 'Keski-Suomi', 'Mellersta Finland', 'Central Finland', 'Keski-Suomen hyvinvointialue', 'Mellersta Finlands välfärdsområde', 16),
	('etela-pohjanmaa', 'Etelä-Pohjanmaa', 'Södra Österbotten', 'South Ostrobothnia', 'Etelä-Pohjanmaan hyvinvointialue', 'Södra Österbottens välfärdsområde', 17),
	('pohjanmaa', 'Pohjanmaa', 'Österbotten', 'Ostrobothnia', 'Pohjanmaan hyvinvointialue', 'Österbottens välfärdsområde', 18),
	('keski-pohjanmaa', 'Keski-Pohjanmaa', 'Mellersta Österbotten', 'Central Ostrobothnia', 'Keski-Pohjanmaan hyvinvointialue', 'Mellersta Österbottens välfärdsområde', 19),
	('pohjois-pohjanmaa', 'Pohjois-Pohjanmaa', 'Norra Österbotten', 'North Ostrobothnia', 'Pohjois-Pohjanmaan hyvinvointialue', 'Norra Österbottens välfärdsområde', 20),
	('kainuu', 'Kainuu', 'Kajanaland', 'Kainuu', 'Kainuun hyvinvointialue', 'Kajanalands välfärdsområde', 21),
	('lappi', 'Lappi', 'Lappland', 'Lapland', 'Lapin hyvinvointialue', 'Lapplands välfärdsområde', 22);

INSERT INTO programmes (slug, name_fi, name_sv, name_en) VALUES
	('lape', 'Lapset, nuoret ja perheet (LAPE)', 'Barn, unga och familjer (LAPE)', 'Children, youth and families'),
	('ikaihmiset', 'Ikäihmiset', 'Äldre', 'Older people'),
	('mielenterveys', 'Mielenterveys- ja päihdepalvelut', 'Mentalvårds- och missbrukartjänster', 'Mental health and substance abuse services'),
	('hoitotakuu', 'Hoitotakuu', 'Vårdgaranti', 'Care guarantee');
