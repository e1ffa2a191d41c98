-- The GP and emergency-room contacts' code columns as ENUM types.
--
-- gp_contact holds nearly all pulled rows (12 million at cluster scale,
-- hundreds of millions nationally). Stored as text, each of its four code
-- columns cost a pull about a second of compression analysis for 12
-- million rows; an ENUM is a one- or two-byte number with its dictionary
-- in the type, which DuckDB writes, compares and groups far faster.
--
-- The values are the catalogue's code lists (broker/catalog), sorted, so
-- that ORDER BY, min and max give the same order as text did. Comparisons
-- with text behave as before: a text outside the type matches nothing (it
-- is no error), and LIKE, substr and || read the code's text.
--
-- A DuckDB ENUM cannot gain values. A new code (a new ICPC-2 code, a
-- municipality reform) therefore takes a new migration that creates the
-- larger type and rebuilds the table, as this one does; until then a pull
-- that carries the new code fails loudly instead of storing it (its check
-- casts to these types), and TestCodeTypesFollowTheCatalogue in
-- broker/store fails as soon as the catalogue and the types differ.
CREATE TYPE kommunenummer_enum AS ENUM (
    '4601', '4621', '4624', '4627', '4628', '4630', '4631', '4632', '4634');
CREATE TYPE gp_service_enum AS ENUM ('emergency', 'gp');
CREATE TYPE contact_type_enum AS ENUM ('consultation', 'econsultation', 'home_visit', 'simple', 'video');
CREATE TYPE icpc2_enum AS ENUM (
    'A01', 'A02', 'A03', 'A04', 'A05', 'A06', 'A07', 'A08', 'A09', 'A10', 'A11', 'A12',
    'A13', 'A14', 'A15', 'A16', 'A17', 'A18', 'A19', 'A20', 'A21', 'A22', 'A23', 'A24',
    'A25', 'A26', 'A27', 'A28', 'A29', 'A70', 'A71', 'A72', 'A73', 'A74', 'A75', 'A76',
    'A77', 'A78', 'A79', 'A80', 'A81', 'A82', 'A83', 'A84', 'A85', 'A86', 'A87', 'A88',
    'A89', 'A90', 'A91', 'A92', 'A93', 'A94', 'A95', 'A96', 'A97', 'A98', 'A99', 'B01',
    'B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08', 'B09', 'B10', 'B11', 'B12', 'B13',
    'B14', 'B15', 'B16', 'B17', 'B18', 'B19', 'B20', 'B21', 'B22', 'B23', 'B24', 'B25',
    'B26', 'B27', 'B28', 'B29', 'B70', 'B71', 'B72', 'B73', 'B74', 'B75', 'B76', 'B77',
    'B78', 'B79', 'B80', 'B81', 'B82', 'B83', 'B84', 'B85', 'B86', 'B87', 'B88', 'B89',
    'B90', 'B91', 'B92', 'B93', 'B94', 'B95', 'B96', 'B97', 'B98', 'B99', 'D01', 'D02',
    'D03', 'D04', 'D05', 'D06', 'D07', 'D08', 'D09', 'D10', 'D11', 'D12', 'D13', 'D14',
    'D15', 'D16', 'D17', 'D18', 'D19', 'D20', 'D21', 'D22', 'D23', 'D24', 'D25', 'D26',
    'D27', 'D28', 'D29', 'D70', 'D71', 'D72', 'D73', 'D74', 'D75', 'D76', 'D77', 'D78',
    'D79', 'D80', 'D81', 'D82', 'D83', 'D84', 'D85', 'D86', 'D87', 'D88', 'D89', 'D90',
    'D91', 'D92', 'D93', 'D94', 'D95', 'D96', 'D97', 'D98', 'D99', 'F01', 'F02', 'F03',
    'F04', 'F05', 'F06', 'F07', 'F08', 'F09', 'F10', 'F11', 'F12', 'F13', 'F14', 'F15',
    'F16', 'F17', 'F18', 'F19', 'F20', 'F21', 'F22', 'F23', 'F24', 'F25', 'F26', 'F27',
    'F28', 'F29', 'F70', 'F71', 'F72', 'F73', 'F74', 'F75', 'F76', 'F77', 'F78', 'F79',
    'F80', 'F81', 'F82', 'F83', 'F84', 'F85', 'F86', 'F87', 'F88', 'F89', 'F90', 'F91',
    'F92', 'F93', 'F94', 'F95', 'F96', 'F97', 'F98', 'F99', 'H01', 'H02', 'H03', 'H04',
    'H05', 'H06', 'H07', 'H08', 'H09', 'H10', 'H11', 'H12', 'H13', 'H14', 'H15', 'H16',
    'H17', 'H18', 'H19', 'H20', 'H21', 'H22', 'H23', 'H24', 'H25', 'H26', 'H27', 'H28',
    'H29', 'H70', 'H71', 'H72', 'H73', 'H74', 'H75', 'H76', 'H77', 'H78', 'H79', 'H80',
    'H81', 'H82', 'H83', 'H84', 'H85', 'H86', 'H87', 'H88', 'H89', 'H90', 'H91', 'H92',
    'H93', 'H94', 'H95', 'H96', 'H97', 'H98', 'H99', 'K01', 'K02', 'K03', 'K04', 'K05',
    'K06', 'K07', 'K08', 'K09', 'K10', 'K11', 'K12', 'K13', 'K14', 'K15', 'K16', 'K17',
    'K18', 'K19', 'K20', 'K21', 'K22', 'K23', 'K24', 'K25', 'K26', 'K27', 'K28', 'K29',
    'K70', 'K71', 'K72', 'K73', 'K74', 'K75', 'K76', 'K77', 'K78', 'K79', 'K80', 'K81',
    'K82', 'K83', 'K84', 'K85', 'K86', 'K87', 'K88', 'K89', 'K90', 'K91', 'K92', 'K93',
    'K94', 'K95', 'K96', 'K97', 'K98', 'K99', 'L01', 'L02', 'L03', 'L04', 'L05', 'L06',
    'L07', 'L08', 'L09', 'L10', 'L11', 'L12', 'L13', 'L14', 'L15', 'L16', 'L17', 'L18',
    'L19', 'L20', 'L21', 'L22', 'L23', 'L24', 'L25', 'L26', 'L27', 'L28', 'L29', 'L70',
    'L71', 'L72', 'L73', 'L74', 'L75', 'L76', 'L77', 'L78', 'L79', 'L80', 'L81', 'L82',
    'L83', 'L84', 'L85', 'L86', 'L87', 'L88', 'L89', 'L90', 'L91', 'L92', 'L93', 'L94',
    'L95', 'L96', 'L97', 'L98', 'L99', 'N01', 'N02', 'N03', 'N04', 'N05', 'N06', 'N07',
    'N08', 'N09', 'N10', 'N11', 'N12', 'N13', 'N14', 'N15', 'N16', 'N17', 'N18', 'N19',
    'N20', 'N21', 'N22', 'N23', 'N24', 'N25', 'N26', 'N27', 'N28', 'N29', 'N70', 'N71',
    'N72', 'N73', 'N74', 'N75', 'N76', 'N77', 'N78', 'N79', 'N80', 'N81', 'N82', 'N83',
    'N84', 'N85', 'N86', 'N87', 'N88', 'N89', 'N90', 'N91', 'N92', 'N93', 'N94', 'N95',
    'N96', 'N97', 'N98', 'N99', 'P01', 'P02', 'P03', 'P04', 'P05', 'P06', 'P07', 'P08',
    'P09', 'P10', 'P11', 'P12', 'P13', 'P14', 'P15', 'P16', 'P17', 'P18', 'P19', 'P20',
    'P21', 'P22', 'P23', 'P24', 'P25', 'P26', 'P27', 'P28', 'P29', 'P70', 'P71', 'P72',
    'P73', 'P74', 'P75', 'P76', 'P77', 'P78', 'P79', 'P80', 'P81', 'P82', 'P83', 'P84',
    'P85', 'P86', 'P87', 'P88', 'P89', 'P90', 'P91', 'P92', 'P93', 'P94', 'P95', 'P96',
    'P97', 'P98', 'P99', 'R01', 'R02', 'R03', 'R04', 'R05', 'R06', 'R07', 'R08', 'R09',
    'R10', 'R11', 'R12', 'R13', 'R14', 'R15', 'R16', 'R17', 'R18', 'R19', 'R20', 'R21',
    'R22', 'R23', 'R24', 'R25', 'R26', 'R27', 'R28', 'R29', 'R70', 'R71', 'R72', 'R73',
    'R74', 'R75', 'R76', 'R77', 'R78', 'R79', 'R80', 'R81', 'R82', 'R83', 'R84', 'R85',
    'R86', 'R87', 'R88', 'R89', 'R90', 'R91', 'R92', 'R93', 'R94', 'R95', 'R96', 'R97',
    'R98', 'R99', 'S01', 'S02', 'S03', 'S04', 'S05', 'S06', 'S07', 'S08', 'S09', 'S10',
    'S11', 'S12', 'S13', 'S14', 'S15', 'S16', 'S17', 'S18', 'S19', 'S20', 'S21', 'S22',
    'S23', 'S24', 'S25', 'S26', 'S27', 'S28', 'S29', 'S70', 'S71', 'S72', 'S73', 'S74',
    'S75', 'S76', 'S77', 'S78', 'S79', 'S80', 'S81', 'S82', 'S83', 'S84', 'S85', 'S86',
    'S87', 'S88', 'S89', 'S90', 'S91', 'S92', 'S93', 'S94', 'S95', 'S96', 'S97', 'S98',
    'S99', 'T01', 'T02', 'T03', 'T04', 'T05', 'T06', 'T07', 'T08', 'T09', 'T10', 'T11',
    'T12', 'T13', 'T14', 'T15', 'T16', 'T17', 'T18', 'T19', 'T20', 'T21', 'T22', 'T23',
    'T24', 'T25', 'T26', 'T27', 'T28', 'T29', 'T70', 'T71', 'T72', 'T73', 'T74', 'T75',
    'T76', 'T77', 'T78', 'T79', 'T80', 'T81', 'T82', 'T83', 'T84', 'T85', 'T86', 'T87',
    'T88', 'T89', 'T90', 'T91', 'T92', 'T93', 'T94', 'T95', 'T96', 'T97', 'T98', 'T99',
    'U01', 'U02', 'U03', 'U04', 'U05', 'U06', 'U07', 'U08', 'U09', 'U10', 'U11', 'U12',
    'U13', 'U14', 'U15', 'U16', 'U17', 'U18', 'U19', 'U20', 'U21', 'U22', 'U23', 'U24',
    'U25', 'U26', 'U27', 'U28', 'U29', 'U70', 'U71', 'U72', 'U73', 'U74', 'U75', 'U76',
    'U77', 'U78', 'U79', 'U80', 'U81', 'U82', 'U83', 'U84', 'U85', 'U86', 'U87', 'U88',
    'U89', 'U90', 'U91', 'U92', 'U93', 'U94', 'U95', 'U96', 'U97', 'U98', 'U99', 'W01',
    'W02', 'W03', 'W04', 'W05', 'W06', 'W07', 'W08', 'W09', 'W10', 'W11', 'W12', 'W13',
    'W14', 'W15', 'W16', 'W17', 'W18', 'W19', 'W20', 'W21', 'W22', 'W23', 'W24', 'W25',
    'W26', 'W27', 'W28', 'W29', 'W70', 'W71', 'W72', 'W73', 'W74', 'W75', 'W76', 'W77',
    'W78', 'W79', 'W80', 'W81', 'W82', 'W83', 'W84', 'W85', 'W86', 'W87', 'W88', 'W89',
    'W90', 'W91', 'W92', 'W93', 'W94', 'W95', 'W96', 'W97', 'W98', 'W99', 'X01', 'X02',
    'X03', 'X04', 'X05', 'X06', 'X07', 'X08', 'X09', 'X10', 'X11', 'X12', 'X13', 'X14',
    'X15', 'X16', 'X17', 'X18', 'X19', 'X20', 'X21', 'X22', 'X23', 'X24', 'X25', 'X26',
    'X27', 'X28', 'X29', 'X70', 'X71', 'X72', 'X73', 'X74', 'X75', 'X76', 'X77', 'X78',
    'X79', 'X80', 'X81', 'X82', 'X83', 'X84', 'X85', 'X86', 'X87', 'X88', 'X89', 'X90',
    'X91', 'X92', 'X93', 'X94', 'X95', 'X96', 'X97', 'X98', 'X99', 'Y01', 'Y02', 'Y03',
    'Y04', 'Y05', 'Y06', 'Y07', 'Y08', 'Y09', 'Y10', 'Y11', 'Y12', 'Y13', 'Y14', 'Y15',
    'Y16', 'Y17', 'Y18', 'Y19', 'Y20', 'Y21', 'Y22', 'Y23', 'Y24', 'Y25', 'Y26', 'Y27',
    'Y28', 'Y29', 'Y70', 'Y71', 'Y72', 'Y73', 'Y74', 'Y75', 'Y76', 'Y77', 'Y78', 'Y79',
    'Y80', 'Y81', 'Y82', 'Y83', 'Y84', 'Y85', 'Y86', 'Y87', 'Y88', 'Y89', 'Y90', 'Y91',
    'Y92', 'Y93', 'Y94', 'Y95', 'Y96', 'Y97', 'Y98', 'Y99', 'Z01', 'Z02', 'Z03', 'Z04',
    'Z05', 'Z06', 'Z07', 'Z08', 'Z09', 'Z10', 'Z11', 'Z12', 'Z13', 'Z14', 'Z15', 'Z16',
    'Z17', 'Z18', 'Z19', 'Z20', 'Z21', 'Z22', 'Z23', 'Z24', 'Z25', 'Z26', 'Z27', 'Z28',
    'Z29', 'Z70', 'Z71', 'Z72', 'Z73', 'Z74', 'Z75', 'Z76', 'Z77', 'Z78', 'Z79', 'Z80',
    'Z81', 'Z82', 'Z83', 'Z84', 'Z85', 'Z86', 'Z87', 'Z88', 'Z89', 'Z90', 'Z91', 'Z92',
    'Z93', 'Z94', 'Z95', 'Z96', 'Z97', 'Z98', 'Z99');

-- Rebuilt rather than altered: the old service column has a CHECK
-- constraint, which DuckDB does not let ALTER ... TYPE change, and the
-- ENUM now says the same.
CREATE TABLE gp_contact_enum (
    pid          UBIGINT NOT NULL,
    municipality kommunenummer_enum NOT NULL,
    contact_date DATE NOT NULL,
    icpc2        icpc2_enum NOT NULL,
    service      gp_service_enum NOT NULL,
    contact_type contact_type_enum NOT NULL,
    src          VARCHAR DEFAULT '',
    rid          VARCHAR
);
INSERT INTO gp_contact_enum
SELECT pid, municipality, contact_date, icpc2, service, contact_type, src, rid FROM gp_contact;
DROP TABLE gp_contact;
ALTER TABLE gp_contact_enum RENAME TO gp_contact;
